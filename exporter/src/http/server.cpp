#include "http/server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <netdb.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "core/ascii.h"
#include "http/gzip.h"
#include "http/tls_context.h"
#include "http/web_config.h"

namespace afp::http {

namespace {

// Smaller bodies are not worth a deflate stream.
constexpr std::size_t kGzipMinBytes = 1024;

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

std::string resolve_ipv4(const std::string& host, std::string* error) {
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) == 1) return host;
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* result = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result); rc != 0 || !result) {
    *error = "cannot resolve host \"" + host + "\": " + gai_strerror(rc);
    return {};
  }
  char buf[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(result->ai_addr)->sin_addr, buf, sizeof buf);
  freeaddrinfo(result);
  return buf;
}

// Content-Length first (a too-large body is refused unread), then chunked or unknown
// lengths read up to one byte past the limit.
BodyStatus read_body(mg_connection* conn, std::size_t max_bytes, std::string* out) {
  const mg_request_info* info = mg_get_request_info(conn);
  out->clear();
  if (info->content_length > 0) {
    auto length = static_cast<std::size_t>(info->content_length);
    if (length > max_bytes) return BodyStatus::TooLarge;
    out->reserve(length);
  }
  std::array<char, 16384> chunk{};
  while (true) {
    int n = mg_read(conn, chunk.data(), chunk.size());
    if (n < 0) return BodyStatus::Error;
    if (n == 0) break;
    out->append(chunk.data(), static_cast<std::size_t>(n));
    if (out->size() > max_bytes) return BodyStatus::TooLarge;
  }
  if (info->content_length > 0 && out->size() != static_cast<std::size_t>(info->content_length)) {
    return BodyStatus::Error;
  }
  return BodyStatus::Ok;
}

}  // namespace

bool is_loopback(std::string_view remote_addr) {
  if (remote_addr == "::1") return true;
  if (remote_addr.substr(0, 7) == "::ffff:") remote_addr.remove_prefix(7);
  in_addr addr{};
  std::string text(remote_addr);
  if (inet_pton(AF_INET, text.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

bool accepts_gzip(std::string_view accept_encoding) {
  while (!accept_encoding.empty()) {
    auto comma = accept_encoding.find(',');
    auto item = core::trim_space(accept_encoding.substr(0, comma));
    accept_encoding =
        comma == std::string_view::npos ? std::string_view{} : accept_encoding.substr(comma + 1);
    auto semi = item.find(';');
    auto coding = core::trim_space(item.substr(0, semi));
    if (!core::iequals(coding, "gzip") && coding != "*") continue;
    if (semi == std::string_view::npos) return true;
    auto param = core::trim_space(item.substr(semi + 1));
    if (param.size() < 2 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') return true;
    double q = 1;
    auto value = core::trim_space(param.substr(2));
    std::from_chars(value.data(), value.data() + value.size(), q);
    if (q > 0) return true;
  }
  return false;
}

std::string to_civetweb_port(std::string_view address, std::string* error) {
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    *error = "listen address \"" + std::string(address) + "\" must be host:port or :port";
    return {};
  }
  std::string host(address.substr(0, colon));
  auto port_text = address.substr(colon + 1);
  unsigned port = 0;
  auto res = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || res.ec != std::errc() ||
      res.ptr != port_text.data() + port_text.size() || port > 65535) {
    *error = "listen address \"" + std::string(address) + "\": bad port \"" +
             std::string(port_text) + "\"";
    return {};
  }
  if (host.find(':') != std::string::npos || host.starts_with('[')) {
    *error = "listen address \"" + std::string(address) +
             "\": IPv6 is not supported by the civetweb build this exporter uses";
    return {};
  }
  if (host.empty()) return std::to_string(port);
  std::string ip = resolve_ipv4(host, error);
  if (ip.empty()) {
    *error = "listen address \"" + std::string(address) + "\": " + *error;
    return {};
  }
  return ip + ":" + std::to_string(port);
}

Server::Server(ServerOptions options, log::Logger& log)
    : options_(std::move(options)), log_(log), web_(options_.web_config) {}

Server::~Server() {
  stop();
}

void Server::route(std::string path, std::vector<std::string> methods, Handler handler,
                   RouteOptions options) {
  routes_.push_back({std::move(path), std::move(methods), std::move(handler), options});
}

void Server::start() {
  auto web = web_config();
  bool tls = web && web->tls_enabled();
  std::string ports;
  for (const auto& address : options_.listen_addresses) {
    std::string error;
    auto port = to_civetweb_port(address, &error);
    if (port.empty()) throw ServerError(error);
    if (!ports.empty()) ports += ',';
    ports += port + (tls ? "s" : "");  // civetweb: an "s" suffix makes the port HTTPS
  }
  if (ports.empty()) throw ServerError("no listen address configured");
  if (tls) {
    if (!mg_check_feature(MG_FEATURES_TLS)) {
      throw ServerError("tls_server_config in " + web->path() +
                        ": this civetweb was built without TLS support");
    }
    // The result is no guide: civetweb 1.15 reports TLS missing on the first call even when
    // OpenSSL loaded. A failure shows in mg_start2 below.
    mg_init_library(MG_FEATURES_TLS);
    tls_ = std::make_unique<TlsContext>(web->tls());
  }
  std::string threads = std::to_string(std::max(2, options_.worker_threads));
  const char* config[] = {"listening_ports",
                          ports.c_str(),
                          "num_threads",
                          threads.c_str(),
                          "enable_keep_alive",
                          "yes",
                          "keep_alive_timeout_ms",
                          "5000",
                          "request_timeout_ms",
                          "30000",
                          "tcp_nodelay",
                          "1",
                          nullptr};
  mg_callbacks callbacks{};
  callbacks.begin_request = &Server::on_request;
  callbacks.log_message = &Server::on_log;
  if (tls_) callbacks.init_ssl = &Server::on_init_ssl;
  mg_init_data init{&callbacks, this, config};
  std::array<char, 256> text{};
  unsigned code = 0;
  mg_error_data error{&code, text.data(), text.size()};
  mg_init_library(0);
  ctx_ = mg_start2(&init, &error);
  if (!ctx_) {
    std::string hint;
    if (tls_ && std::string_view(text.data()).find("SSL") != std::string_view::npos) {
      // civetweb loads OpenSSL with dlopen("libssl.so") and dlopen("libcrypto.so"); Debian
      // ships those names in libssl-dev.
      hint = " (civetweb needs libssl.so and libcrypto.so: Debian package libssl-dev)";
    }
    tls_.reset();
    throw ServerError("cannot listen on " + ports + ": " +
                      (text[0] ? text.data() : "unknown civetweb error") + hint);
  }
}

void Server::stop() {
  if (ctx_) {
    mg_stop(ctx_);
    ctx_ = nullptr;
  }
}

std::vector<int> Server::ports() const {
  std::vector<int> out;
  if (!ctx_) return out;
  std::array<mg_server_port, 16> ports{};
  int n = mg_get_server_ports(ctx_, static_cast<int>(ports.size()), ports.data());
  for (int i = 0; i < n; ++i)
    out.push_back(ports[static_cast<std::size_t>(i)].port);
  return out;
}

bool Server::set_web_config(std::shared_ptr<const WebConfig> config) {
  bool tls = config && config->tls_enabled();
  bool applies = !ctx_ || tls == (tls_ != nullptr);
  if (tls_ && tls) tls_->update(config->tls());
  std::lock_guard lock(web_mutex_);
  web_ = std::move(config);
  return applies;
}

std::shared_ptr<const WebConfig> Server::web_config() const {
  std::lock_guard lock(web_mutex_);
  return web_;
}

int Server::on_init_ssl(void* ssl_ctx, void* user_data) {
  auto* self = static_cast<Server*>(user_data);
  return self && self->tls_ ? self->tls_->init(ssl_ctx) : -1;
}

int Server::on_log(const mg_connection* conn, const char* message) {
  auto* self = static_cast<Server*>(mg_get_user_data(mg_get_context(conn)));
  if (self) self->log_.debug("civetweb", {{"msg", message}});
  return 1;  // handled: keep civetweb from printing to stderr itself
}

int Server::on_request(mg_connection* conn) {
  auto* self = static_cast<Server*>(mg_get_user_data(mg_get_context(conn)));
  self->dispatch(conn);
  return 1;
}

const Server::Route* Server::find(std::string_view path) const {
  for (const auto& r : routes_) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

void Server::dispatch(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  std::string_view method = info->request_method ? info->request_method : "";
  Request request{
      method,
      info->local_uri ? info->local_uri : "",
      info->query_string ? info->query_string : "",
      info->remote_addr,
      [conn](const char* name) -> std::string_view {
        const char* v = mg_get_header(conn, name);
        return v ? v : "";
      },
      [conn](std::size_t max_bytes, std::string* out) { return read_body(conn, max_bytes, out); }};
  Response response;
  const Route* route = find(request.path);
  bool head = method == "HEAD";
  auto web = web_config();
  bool basic_auth = route == nullptr || !route->options.own_authentication;
  if (web && !web->admit(request, response, basic_auth)) {
    // 401 or 429, before any routing: unknown paths do not reveal themselves either.
  } else if (!route) {
    response.status = 404;
    response.body = "404 page not found\n";
  } else {
    auto allowed = [&](std::string_view m) {
      return std::find(route->methods.begin(), route->methods.end(), m) != route->methods.end();
    };
    if (allowed(method) || (head && allowed("GET"))) {
      try {
        route->handler(request, response);
      } catch (const std::exception& e) {
        log_.error("request handler failed",
                   {{"path", std::string(request.path)}, {"err", e.what()}});
        response = Response{};
        response.status = 500;
        response.body = "internal error\n";
      }
    } else {
      std::string allow;
      for (const auto& m : route->methods)
        allow += (allow.empty() ? "" : ", ") + m;
      if (allowed("GET")) allow += ", HEAD";
      response.status = 405;
      response.headers.emplace_back("Allow", allow);
      response.body = "405 method not allowed\n";
    }
  }

  if (web) web->add_headers(response);

  bool gzip =
      response.body.size() >= kGzipMinBytes && accepts_gzip(request.header("Accept-Encoding"));
  if (gzip) response.body = gzip_compress(response.body);

  std::string head_text = "HTTP/1.1 " + std::to_string(response.status) + " " +
                          std::string(reason_phrase(response.status)) +
                          "\r\nContent-Type: " + response.content_type +
                          "\r\nContent-Length: " + std::to_string(response.body.size()) + "\r\n";
  if (gzip) head_text += "Content-Encoding: gzip\r\n";
  if (response.body.size() >= kGzipMinBytes || gzip) head_text += "Vary: Accept-Encoding\r\n";
  for (const auto& [name, value] : response.headers)
    head_text += name + ": " + value + "\r\n";
  head_text += "\r\n";
  if (!head) {
    // One write: header and body in separate segments would cost a round trip on some stacks.
    head_text += response.body;
  }
  mg_write(conn, head_text.data(), head_text.size());
}

}  // namespace afp::http
