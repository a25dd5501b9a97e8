#include "http/client.h"

#include <civetweb.h>

#include <array>
#include <charconv>
#include <memory>

namespace afp::http {

std::optional<Url> parse_url(std::string_view text, std::string* error) {
  Url url;
  std::string_view rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    url.tls = true;
    rest = text.substr(8);
  } else {
    *error = "URL \"" + std::string(text) + "\" must start with http:// or https://";
    return std::nullopt;
  }
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  auto colon = authority.rfind(':');
  url.port = url.tls ? 443 : 80;
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    auto port = authority.substr(colon + 1);
    auto res = std::from_chars(port.data(), port.data() + port.size(), url.port);
    if (port.empty() || res.ec != std::errc() || res.ptr != port.data() + port.size() ||
        url.port <= 0 || url.port > 65535) {
      *error = "URL \"" + std::string(text) + "\": bad port";
      return std::nullopt;
    }
    authority = authority.substr(0, colon);
  }
  if (authority.empty() || authority.find('@') != std::string_view::npos) {
    *error = "URL \"" + std::string(text) + "\": missing or unsupported host";
    return std::nullopt;
  }
  url.host = authority;
  return url;
}

std::optional<ClientResponse> get(const std::string& url_text, std::chrono::milliseconds timeout,
                                  std::string* error, std::size_t max_body) {
  auto url = parse_url(url_text, error);
  if (!url) return std::nullopt;
  mg_init_library(url->tls ? MG_FEATURES_TLS : 0);
  std::array<char, 256> ebuf{};
  std::unique_ptr<mg_connection, decltype(&mg_close_connection)> conn(
      mg_connect_client(url->host.c_str(), url->port, url->tls ? 1 : 0, ebuf.data(), ebuf.size()),
      mg_close_connection);
  if (!conn) {
    *error = ebuf[0] ? ebuf.data() : "cannot connect";
    return std::nullopt;
  }
  mg_printf(conn.get(),
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/plain;version=0.0.4\r\n"
            "Accept-Encoding: identity\r\nUser-Agent: afp_exporter\r\nConnection: close\r\n\r\n",
            url->target.c_str(), url->host.c_str(), url->port);
  if (mg_get_response(conn.get(), ebuf.data(), ebuf.size(), static_cast<int>(timeout.count())) <
      0) {
    *error = ebuf[0] ? ebuf.data() : "no response";
    return std::nullopt;
  }
  ClientResponse response;
  response.status = mg_get_response_info(conn.get())->status_code;
  std::array<char, 16384> buf{};
  for (;;) {
    int n = mg_read(conn.get(), buf.data(), buf.size());
    if (n <= 0) break;
    response.body.append(buf.data(), static_cast<std::size_t>(n));
    if (response.body.size() > max_body) {
      *error = "response larger than " + std::to_string(max_body) + " bytes";
      return std::nullopt;
    }
  }
  return response;
}

}  // namespace afp::http
