#include "http/client.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <vector>

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

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using tcp = net::ip::tcp;
using Kind = ClientError::Kind;

// The Authorization header's value; empty with *error set for a user name RFC 7617 cannot
// carry.
std::string basic_authorization(const BasicCredentials& credentials, std::string* error) {
  const auto& user = credentials.username;
  if (user.find(':') != std::string::npos || has_unsafe_character(user)) {
    *error = "the user name cannot hold ':', spaces or control characters";
    return "";
  }
  std::string plain = user + ":" + credentials.password;
  std::vector<unsigned char> encoded(4 * ((plain.size() + 2) / 3) + 1);
  int n = EVP_EncodeBlock(encoded.data(), reinterpret_cast<const unsigned char*>(plain.data()),
                          static_cast<int>(plain.size()));
  return "Basic " + std::string(encoded.begin(), encoded.begin() + n);
}

std::string build_request(const Url& url, const std::string& authorization) {
  std::string request = "GET " + url.target + " HTTP/1.1\r\nHost: " + url.authority() +
                        "\r\nAccept: text/plain;version=0.0.4\r\nAccept-Encoding: identity\r\n"
                        "User-Agent: afp_exporter\r\nConnection: close\r\n";
  if (!authorization.empty()) request += "Authorization: " + authorization + "\r\n";
  return request + "\r\n";
}

bool is_ip_address(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// What a failed handshake means, in the certificate check's own words when that failed.
ClientError handshake_failure(SSL* ssl, error_code ec) {
  if (ec == beast::error::timeout) return {Kind::Timeout, "TLS handshake failed: timed out"};
  long verified = SSL_get_verify_result(ssl);
  if (verified != X509_V_OK) {
    bool name =
        verified == X509_V_ERR_HOSTNAME_MISMATCH || verified == X509_V_ERR_IP_ADDRESS_MISMATCH;
    return {
        name ? Kind::HostName : Kind::Certificate,
        std::string("certificate verify failed (") + X509_verify_cert_error_string(verified) + ")"};
  }
  if (ec.category() == net::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_WRONG_VERSION_NUMBER) {
    return {Kind::NotTls, "TLS handshake failed: the server does not speak TLS"};
  }
  return {Kind::Tls, "TLS handshake failed: " + ec.message()};
}

// Connect, request, response, all asynchronous under the stream's one deadline; `error`
// says what failed first.
template <class Stream>
class Exchange {
 public:
  Exchange(Stream& stream, std::string request, std::size_t max_body, ClientError& error)
      : stream_(stream), error_(error), max_body_(max_body), request_(std::move(request)) {
    parser_.body_limit(max_body);
  }

  void start(const tcp::resolver::results_type& endpoints) {
    beast::get_lowest_layer(stream_).async_connect(
        endpoints, [this](error_code ec, const tcp::endpoint&) {
          if (ec == net::error::connection_refused) {
            return fail(Kind::Refused, "cannot connect", ec);
          }
          if (ec) return fail(Kind::Connect, "cannot connect", ec);
          if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            send();
          } else {
            handshake();
          }
        });
  }

  std::optional<ClientResponse> result() {
    if (!done_) return std::nullopt;
    return ClientResponse{static_cast<int>(parser_.get().result_int()),
                          std::move(parser_.get().body())};
  }

 private:
  void handshake() {
    stream_.async_handshake(net::ssl::stream_base::client, [this](error_code ec) {
      if (ec) {
        error_ = handshake_failure(stream_.native_handle(), ec);
        return;
      }
      send();
    });
  }

  void send() {
    net::async_write(stream_, net::buffer(request_), [this](error_code ec, std::size_t) {
      if (ec) return fail(Kind::Exchange, "cannot send the request", ec);
      receive();
    });
  }

  void receive() {
    bhttp::async_read(stream_, buffer_, parser_, [this](error_code ec, std::size_t) {
      if (ec == bhttp::error::body_limit) {
        error_ = {Kind::TooLarge, "response larger than " + std::to_string(max_body_) + " bytes"};
        return;
      }
      if (ec) return fail(Kind::Exchange, "no response", ec);
      done_ = true;
    });
  }

  void fail(Kind kind, const std::string& what, error_code ec) {
    if (ec == beast::error::timeout) {
      error_ = {Kind::Timeout, what + ": timed out"};
    } else {
      error_ = {kind, what + ": " + ec.message()};
    }
  }

  Stream& stream_;
  ClientError& error_;
  std::size_t max_body_;
  std::string request_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
  bool done_ = false;
};

template <class Stream>
std::optional<ClientResponse> exchange(net::io_context& io, Stream& stream, const Url& url,
                                       std::string request, std::chrono::milliseconds timeout,
                                       std::size_t max_body, ClientError* error) {
  tcp::resolver resolver(io);
  error_code ec;
  auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) {
    *error = {Kind::Resolve, "cannot resolve host \"" + url.host + "\": " + ec.message()};
    return std::nullopt;
  }
  beast::get_lowest_layer(stream).expires_after(timeout);
  Exchange<Stream> exchange(stream, std::move(request), max_body, *error);
  exchange.start(endpoints);
  io.run();
  return exchange.result();
}

// The certificates the server's chain must end in; false with *error set when the CA file
// cannot be used.
bool load_trust(net::ssl::context& ssl, const TlsVerification& tls, ClientError* error) {
  if (tls.skip) {
    ssl.set_verify_mode(net::ssl::verify_none);
    return true;
  }
  ssl.set_verify_mode(net::ssl::verify_peer);
  error_code ec;
  if (tls.ca_file.empty()) {
    ssl.set_default_verify_paths(ec);
    if (ec) *error = {Kind::CaFile, "cannot load the system's trust store: " + ec.message()};
    return !ec;
  }
  if (!std::ifstream(tls.ca_file)) {
    *error = {Kind::CaFile,
              "CA file \"" + tls.ca_file + "\": cannot read it: " + std::strerror(errno)};
    return false;
  }
  ssl.load_verify_file(tls.ca_file, ec);
  if (ec) {
    *error = {Kind::CaFile, "CA file \"" + tls.ca_file +
                                "\": no PEM certificate OpenSSL accepts (" + ec.message() + ")"};
  }
  return !ec;
}

// The name the server is asked for (SNI, DNS names only: RFC 6066) and, when verifying,
// the name or address its certificate must hold.
bool expect_host(SSL* ssl, const std::string& host, bool verify, ClientError* error) {
  bool ip = is_ip_address(host);
  if (!ip) SSL_set_tlsext_host_name(ssl, host.c_str());
  if (!verify) return true;
  int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str())
              : SSL_set1_host(ssl, host.c_str());
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  if (ok != 1) *error = {Kind::Url, "cannot check a certificate for host \"" + host + "\""};
  return ok == 1;
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
  net::io_context io;
  if (!url->tls) {
    beast::tcp_stream stream(io);
    return exchange(io, stream, *url, std::move(request), timeout, options.max_body, error);
  }
  net::ssl::context ssl(net::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ssl.native_handle(), TLS1_2_VERSION);
  if (!load_trust(ssl, options.tls, error)) return std::nullopt;
  beast::ssl_stream<beast::tcp_stream> stream(io, ssl);
  if (!expect_host(stream.native_handle(), url->host, !options.tls.skip, error)) {
    return std::nullopt;
  }
  return exchange(io, stream, *url, std::move(request), timeout, options.max_body, error);
}

std::optional<ClientResponse> get(const std::string& url, std::chrono::milliseconds timeout,
                                  std::string* error) {
  ClientError failure;
  auto response = get(url, timeout, &failure);
  if (!response) *error = std::move(failure.message);
  return response;
}

}  // namespace afp::http
