#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "log/logger.h"

namespace afp::http {

class WebConfig;
class TlsServer;
class Listener;
struct Reply;

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

// Where a streamed body goes (Response::stream). write() may block until the client has
// taken earlier bytes, and throws ConnectionLost when it is gone.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void write(std::string_view data) = 0;
};

class ConnectionLost : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // When set, the body is this function's output, sent while it runs, and `body` is
  // unused: a large body never has to be held whole. A body that turns out small is still
  // sent whole with a Content-Length; a larger one goes out chunked.
  std::function<void(BodySink&)> stream = {};
};

using Handler = std::function<void(const Request&, Response&)>;

struct RouteOptions {
  // The route checks credentials itself (the ingest route's bearer token), so the web
  // config's basic auth does not apply to it; its rate limit and TLS still do.
  bool own_authentication = false;
  // The handler is cheap and never blocks (/-/healthy): it runs on the I/O thread, so it
  // answers even when every worker is busy. Unremembered basic-auth credentials still send
  // it to a worker, since checking them takes a bcrypt.
  bool run_inline = false;
};

struct ServerOptions {
  // node_exporter style: ":9793" (every address), "127.0.0.1:9793", "[::1]:9793".
  std::vector<std::string> listen_addresses;
  // At most this many threads run the handlers (started as needed); a request waits in
  // line when all of them are busy.
  int worker_threads = 48;
  // --web.config.file: TLS, basic auth, extra headers, rate limit. null: plain HTTP, open.
  std::shared_ptr<const WebConfig> web_config = nullptr;
  // Threads that accept, read and write. Waiting costs them nothing: one is plenty.
  int io_threads = 1;
  // Open connections at most. A new one beyond it closes the connection that has waited
  // longest for a request head (idle keep-alive or trickling), or itself if none is waiting.
  std::size_t max_connections = 512;
  // The whole request head (and the TLS handshake of a new connection) within this, from
  // its first byte; a new connection's clock starts when it is accepted.
  std::chrono::milliseconds head_timeout{10'000};
  // A keep-alive connection may wait this long for its next request.
  std::chrono::milliseconds idle_timeout{120'000};
  // A larger request head (request line and header fields) is answered 431.
  std::size_t max_head_bytes = 16 * 1024;
  // After the grace, a request body must have arrived at min_body_rate bytes a second on
  // average since it began, or the connection is closed.
  std::chrono::milliseconds body_grace{5'000};
  std::size_t min_body_rate = 4096;
  // A response must be written (the client must read it) within this.
  std::chrono::milliseconds write_timeout{60'000};
  // The flag that sets listen_addresses, named when a port is taken: what to change.
  std::string listen_flag = {};
};

class ServerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A small HTTP/1.1 server: exact-path routing, 404 for unknown paths, 405 with Allow for a
// known path and a wrong method, HEAD served from GET, gzip when the client accepts it,
// keep-alive. It knows nothing of metrics: handlers are registered by the caller.
//
// Connections are served asynchronously on a few I/O threads (http/listener.h), so a slow
// or idle client costs a socket and a few KB, never a thread; every stage of a request has
// a deadline (ServerOptions). Handlers run on a pool of worker_threads, so a slow scrape
// never holds up I/O, and routes marked run_inline answer on the I/O thread itself.
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
  // Stops accepting, closes idle connections, lets in-flight requests finish (a few
  // seconds at most for their responses to be written), joins the threads.
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
  const Route* find(std::string_view path) const;
  // Whether the request can be answered on the I/O thread without blocking.
  bool answers_inline(const Request& request) const;
  // The complete answer to a request: admission, routing, the handler, gzip.
  Reply respond(const Request& request) const;

  ServerOptions options_;
  log::Logger& log_;
  std::vector<Route> routes_;
  mutable std::mutex web_mutex_;
  std::shared_ptr<const WebConfig> web_;
  std::unique_ptr<TlsServer> tls_;  // when the listeners speak TLS
  std::unique_ptr<Listener> listener_;
};

// Whether an Accept-Encoding value allows gzip (honours q=0).
bool accepts_gzip(std::string_view accept_encoding);

}  // namespace afp::http
