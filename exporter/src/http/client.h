#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace afp::http {

struct Url {
  bool tls = false;
  std::string host;  // an IPv6 address without its brackets, as the resolver and TLS want it
  int port = 0;
  std::string target;  // path and query

  // host:port as the Host header carries it, an IPv6 address in brackets.
  std::string authority() const;
};

// http:// and https:// URLs; nullopt with *error set otherwise. A URL with a user name or
// password is refused, and the message leaves them out.
std::optional<Url> parse_url(std::string_view text, std::string* error);

// Whether the URL carries a user name or password ("https://user:pass@host/"): a caller
// that has credential flags says which to use instead.
bool has_userinfo(std::string_view text);

// How an https:// server's certificate is checked. By default against the system's trust
// store, and it must name the URL's host (a DNS name) or hold its IP address.
struct TlsVerification {
  std::string ca_file;  // a PEM bundle to trust instead of the system store
  bool skip = false;    // no check at all: encrypted, but anyone on the path can answer
};

struct BasicCredentials {
  std::string username;  // no ':' (RFC 7617); get() refuses one
  std::string password;
};

struct ClientOptions {
  TlsVerification tls;
  std::optional<BasicCredentials> basic_auth;  // sent with the request, never logged
  std::size_t max_body = 256u << 20;
};

struct ClientError {
  enum class Kind {
    Url,          // the URL or the credentials cannot be used
    CaFile,       // tls.ca_file cannot be read or holds no certificate
    Resolve,      // the host name does not resolve
    Refused,      // nothing listens at the address
    Connect,      // any other connection failure
    Certificate,  // the server's certificate chain failed verification
    HostName,     // the certificate is valid but names neither the URL's host nor its IP
    NotTls,       // an https:// URL, but the server answers without TLS
    Tls,          // any other TLS handshake failure
    Timeout,      // no complete answer within the timeout
    Exchange,     // the request or the response broke off, or was not HTTP
    TooLarge,     // the body is over max_body
  };
  Kind kind = Kind::Exchange;
  std::string message;  // never holds the password
};

struct ClientResponse {
  int status = 0;
  std::string body;
};

// A GET over Boost.Beast, which the server already uses (header-only): a general HTTP
// client library would add several MB of resident shared libraries to every exporter.
// nullopt with *error set when no answer arrives within timeout.
std::optional<ClientResponse> get(const std::string& url, std::chrono::milliseconds timeout,
                                  ClientError* error, const ClientOptions& options = {});

// The same with the default options and only the message of a failure.
std::optional<ClientResponse> get(const std::string& url, std::chrono::milliseconds timeout,
                                  std::string* error);

}  // namespace afp::http
