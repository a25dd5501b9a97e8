#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "log/logger.h"

struct mg_context;
struct mg_connection;

namespace afp::http {

class WebConfig;
class TlsContext;

enum class BodyStatus { Ok, TooLarge, Error };

struct Request {
  std::string_view method;
  std::string_view path;
  std::string_view query;
  std::string_view remote_addr;
  // Case-insensitive header lookup; empty when absent.
  std::function<std::string_view(const char* name)> header;
  // Reads the whole request body into *out, refusing (TooLarge) one longer than max_bytes
  // before reading it when Content-Length says so. Error: the client went away mid-body.
  std::function<BodyStatus(std::size_t max_bytes, std::string* out)> read_body = {};
};

// Whether a peer address ("127.0.0.1", "::1") is on the loopback interface.
bool is_loopback(std::string_view remote_addr);

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

using Handler = std::function<void(const Request&, Response&)>;

struct RouteOptions {
  // The route checks credentials itself (the ingest route's bearer token), so the web
  // config's basic auth does not apply to it; its rate limit and TLS still do.
  bool own_authentication = false;
};

struct ServerOptions {
  std::vector<std::string> listen_addresses;  // node_exporter style: ":9793", "127.0.0.1:9793"
  int worker_threads = 48;
  // --web.config.file: TLS, basic auth, extra headers, rate limit. null: plain HTTP, open.
  std::shared_ptr<const WebConfig> web_config = nullptr;
};

class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Translates "host:port" / ":port" into civetweb's listening_ports form, or explains why
// it cannot (empty string and *error set).
std::string to_civetweb_port(std::string_view address, std::string* error);

// A small HTTP server over civetweb's C API: exact-path routing, 404 for unknown paths,
// 405 with Allow for a known path and a wrong method, HEAD served from GET, gzip when the
// client accepts it. It knows nothing of metrics: handlers are registered by the caller.
// Each request runs on its own civetweb worker, so handlers never queue behind each other.
// With a web config, every route answers only authenticated requests, and with TLS in it
// every listen address speaks HTTPS.
class Server {
 public:
  Server(ServerOptions options, log::Logger& log);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Routes must be added before start().
  void route(std::string path, std::vector<std::string> methods, Handler handler,
             RouteOptions options = {});
  // Binds every listen address; throws ServerError naming the address that failed.
  void start();
  // Stops accepting, lets in-flight requests finish, joins the workers.
  void stop();
  // The bound ports, in listen-address order (useful with port 0).
  std::vector<int> ports() const;
  // Replaces the web config for the requests and TLS handshakes that follow. Turning TLS on
  // or off needs new listeners, so a running server keeps speaking what it speaks and
  // returns false; users, headers and the TLS settings themselves apply at once.
  bool set_web_config(std::shared_ptr<const WebConfig> config);
  // The web config requests are checked against now (null: none).
  std::shared_ptr<const WebConfig> web_config() const;

 private:
  struct Route {
    std::string path;
    std::vector<std::string> methods;
    Handler handler;
    RouteOptions options;
  };
  static int on_request(mg_connection* conn);
  static int on_log(const mg_connection* conn, const char* message);
  static int on_init_ssl(void* ssl_ctx, void* user_data);
  void dispatch(mg_connection* conn);
  const Route* find(std::string_view path) const;

  ServerOptions options_;
  log::Logger& log_;
  std::vector<Route> routes_;
  mutable std::mutex web_mutex_;
  std::shared_ptr<const WebConfig> web_;
  std::unique_ptr<TlsContext> tls_;  // when the listeners speak TLS
  mg_context* ctx_ = nullptr;
};

// Whether an Accept-Encoding value allows gzip (honours q=0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace afp::http
