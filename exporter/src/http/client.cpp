#include "http/client.h"

#include <algorithm>
#include <charconv>
#include <cstdint>

#include "http/client_exchange.h"
#include "http/server.h"
#include "http/web_security.h"

namespace afp::http {

namespace {

constexpr std::string_view kSchemeEnd = "://";

// The host and port part: from after "scheme://" (or the start) to the path, query or
// fragment.
std::string_view authority_of(std::string_view text, std::size_t* start = nullptr) {
  auto scheme = text.find(kSchemeEnd);
  std::size_t from = scheme == std::string_view::npos ? 0 : scheme + kSchemeEnd.size();
  if (start != nullptr) *start = from;
  auto rest = text.substr(from);
  return rest.substr(0, rest.find_first_of("/?#"));
}

bool is_control(char c) {
  return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
}

// Spaces and control characters would end the request line or a header early: whatever
// follows them would be sent as request text of the URL's choosing.
bool has_unsafe_character(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return c == ' ' || is_control(c); });
}

// The URL as a one-line message may show it: a user name and password replaced by "…",
// control characters by "?".
std::string shown(std::string_view text) {
  std::size_t start = 0;
  auto authority = authority_of(text, &start);
  auto at = authority.rfind('@');
  std::string out(text);
  if (at != std::string_view::npos) {
    out = std::string(text.substr(0, start)) + "…" + std::string(text.substr(start + at));
  }
  std::replace_if(out.begin(), out.end(), is_control, '?');
  return out;
}

bool parse_port(std::string_view port, int* out) {
  auto res = std::from_chars(port.data(), port.data() + port.size(), *out);
  return !port.empty() && res.ec == std::errc() && res.ptr == port.data() + port.size() &&
         *out > 0 && *out <= 65535;
}

// The host of "[v6]" or "[v6]:port", and what follows the bracket; an error's reason in
// *why otherwise.
std::string_view split_bracketed(std::string_view authority, Url& url, std::string* why) {
  auto close = authority.find(']');
  if (close == std::string_view::npos) {
    *why = "unclosed [ around an IPv6 address";
    return {};
  }
  url.host = authority.substr(1, close - 1);
  auto after = authority.substr(close + 1);
  if (!after.empty() && !after.starts_with(':')) *why = "unexpected text after ]";
  return after;
}

// Splits "host", "host:port", "[v6]" or "[v6]:port" into url; the error's reason otherwise.
std::string split_host_port(std::string_view authority, Url& url) {
  std::string why;
  std::string_view port_part;  // ":port" or empty
  if (authority.starts_with('[')) {
    port_part = split_bracketed(authority, url, &why);
    if (!why.empty()) return why;
  } else {
    auto colon = authority.find(':');
    if (colon != std::string_view::npos &&
        authority.find(':', colon + 1) != std::string_view::npos) {
      return "an IPv6 address needs brackets, e.g. [::1]:9793";
    }
    url.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) port_part = authority.substr(colon);
  }
  if (url.host.empty()) return "missing host";
  if (!port_part.empty() && !parse_port(port_part.substr(1), &url.port)) return "bad port";
  return "";
}

// The path and query after the authority: "/" when there is none, the fragment left out
// (it never goes to the server).
std::string target_of(std::string_view rest) {
  rest = rest.substr(0, rest.find('#'));
  if (rest.starts_with('/')) return std::string(rest);
  return "/" + std::string(rest);  // "" or "?query"
}

}  // namespace

std::string Url::authority() const {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool has_userinfo(std::string_view text) {
  return authority_of(text).find('@') != std::string_view::npos;
}

std::optional<Url> parse_url(std::string_view text, std::string* error) {
  auto refuse = [&](const std::string& why) {
    *error = "URL \"" + shown(text) + "\": " + why;
    return std::nullopt;
  };
  if (has_userinfo(text)) return refuse("a user name or password in a URL is not accepted");
  if (has_unsafe_character(text)) return refuse("spaces and control characters are not allowed");
  Url url;
  if (text.starts_with("https://")) {
    url.tls = true;
  } else if (!text.starts_with("http://")) {
    return refuse("must start with http:// or https://");
  }
  url.port = url.tls ? 443 : 80;
  std::size_t start = 0;
  auto authority = authority_of(text, &start);
  url.target = target_of(text.substr(start + authority.size()));
  if (auto why = split_host_port(authority, url); !why.empty()) return refuse(why);
  return url;
}

namespace {

using namespace exchange_detail;

// Standard base64 with padding, as RFC 7617 wants the credentials.
std::string base64_encode(std::string_view in) {
  static constexpr std::string_view kDigits =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (std::size_t i = 0; i < in.size(); i += 3) {
    std::size_t left = std::min<std::size_t>(3, in.size() - i);
    std::uint32_t n = 0;
    for (std::size_t j = 0; j < 3; ++j) {
      n = (n << 8) | (j < left ? static_cast<unsigned char>(in[i + j]) : 0u);
    }
    for (std::size_t j = 0; j < 4; ++j) {
      out += j <= left ? kDigits[(n >> (18 - 6 * j)) & 0x3f] : '=';
    }
  }
  return out;
}

// The Authorization header's value; empty with *error set for a user name RFC 7617 cannot
// carry.
std::string basic_authorization(const BasicCredentials& credentials, std::string* error) {
  const auto& user = credentials.username;
  if (user.find(':') != std::string::npos || has_unsafe_character(user)) {
    *error = "the user name cannot hold ':', spaces or control characters";
    return "";
  }
  return "Basic " + base64_encode(user + ":" + credentials.password);
}

std::string build_request(const Url& url, const std::string& authorization) {
  std::string request = "GET " + url.target + " HTTP/1.1\r\nHost: " + url.authority() +
                        "\r\nAccept: text/plain;version=0.0.4\r\nAccept-Encoding: identity\r\n"
                        "User-Agent: afp_exporter\r\nConnection: close\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  return request + "\r\n";
}

std::optional<ClientResponse> failed(ClientError* error, Kind kind, std::string message) {
  *error = {kind, std::move(message)};
  return std::nullopt;
}

}  // namespace

std::optional<ClientResponse> get(const std::string& url_text, std::chrono::milliseconds timeout,
                                  ClientError* error, const ClientOptions& options) {
  std::string message;
  auto url = parse_url(url_text, &message);
  if (!url) return failed(error, Kind::Url, message);
  std::string authorization;
  if (options.basic_auth) {
    authorization = basic_authorization(*options.basic_auth, &message);
    if (authorization.empty()) return failed(error, Kind::Url, message);
  }
  auto request = build_request(*url, authorization);
  if (!url->tls) {
    net::io_context io;
    beast::tcp_stream stream(io);
    return exchange(io, stream, *url, std::move(request), timeout, options.max_body, error);
  }
  try {
    return web_security().https_get(*url, request, timeout, options, error);
  } catch (const ServerError& e) {  // the module that speaks TLS cannot be loaded
    return failed(error, Kind::Tls, e.what());
  }
}

std::optional<ClientResponse> get(const std::string& url, std::chrono::milliseconds timeout,
                                  std::string* error) {
  ClientError failure;
  auto response = get(url, timeout, &failure);
  if (!response) *error = std::move(failure.message);
  return response;
}

}  // namespace afp::http
