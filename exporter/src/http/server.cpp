#include "http/server.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>

#include "core/ascii.h"
#include "http/gzip.h"
#include "http/listener.h"
#include "http/reply.h"
#include "http/web_config.h"
#include "http/web_security.h"

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
    case 431:
      return "Request Header Fields Too Large";
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

std::string status_line(int status) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason_phrase(status)) + "\r\n";
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
  if (web && web->tls_enabled()) {
    std::string error;
    tls_ = web_security().tls_server(web->tls(), &error);
    if (!tls_) throw ServerError(error);
  }
  try {
    listener_ = std::make_unique<Listener>(
        options_, tls_.get(),
        RequestHandling{[this](const Request& r) { return answers_inline(r); },
                        [this](const Request& r) { return respond(r); }},
        log_);
  } catch (...) {
    tls_.reset();
    throw;
  }
}

void Server::stop() {
  if (listener_) listener_->stop();
  listener_.reset();
}

std::vector<int> Server::ports() const {
  return listener_ ? listener_->ports() : std::vector<int>{};
}

bool Server::set_web_config(std::shared_ptr<const WebConfig> config) {
  bool tls = config && config->tls_enabled();
  bool applies = !listener_ || tls == (tls_ != nullptr);
  if (tls_ && tls) tls_->update(config->tls());
  std::lock_guard lock(web_mutex_);
  web_ = std::move(config);
  return applies;
}

std::shared_ptr<const WebConfig> Server::web_config() const {
  std::lock_guard lock(web_mutex_);
  return web_;
}

const Server::Route* Server::find(std::string_view path) const {
  for (const auto& r : routes_) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

bool Server::answers_inline(const Request& request) const {
  const Route* route = find(request.path);
  if (!route || !route->options.run_inline) return false;
  auto web = web_config();
  return !web || web->admits_at_once(request, !route->options.own_authentication);
}

Reply Server::respond(const Request& request) const {
  Response response;
  const Route* route = find(request.path);
  bool head = request.method == "HEAD";
  auto web = web_config();
  bool basic_auth = route == nullptr || !route->options.own_authentication;
  if (web && !web->admit(request, response, basic_auth)) {
    // 401, 429 or 503, before any routing: unknown paths do not reveal themselves either.
  } else if (!route) {
    response.status = 404;
    response.body = "404 page not found\n";
  } else {
    auto allowed = [&](std::string_view m) {
      return std::find(route->methods.begin(), route->methods.end(), m) != route->methods.end();
    };
    if (allowed(request.method) || (head && allowed("GET"))) {
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

  ReplyHead parts{status_line(response.status) + "Content-Type: " + response.content_type + "\r\n",
                  {},
                  accepts_gzip(request.header("Accept-Encoding")),
                  head};
  for (const auto& [name, value] : response.headers)
    parts.extra += name + ": " + value + "\r\n";
  if (response.stream) return Reply{{}, {}, StreamedBody{parts, std::move(response.stream)}};
  return whole_reply(parts, std::move(response.body));
}

Reply whole_reply(const ReplyHead& head, std::string body) {
  bool gzip = body.size() >= kGzipMinBytes && head.gzip_accepted;
  if (gzip) body = gzip_compress(body);
  Reply reply;
  reply.head = head.start + "Content-Length: " + std::to_string(body.size()) + "\r\n";
  if (gzip) reply.head += "Content-Encoding: gzip\r\n";
  if (body.size() >= kGzipMinBytes || gzip) reply.head += "Vary: Accept-Encoding\r\n";
  reply.head += head.extra;
  if (!head.head_only) reply.body = std::move(body);
  return reply;
}

}  // namespace afp::http
