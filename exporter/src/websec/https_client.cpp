#include "websec/https_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "http/client_exchange.h"

// The TLS side of http::get (http/client.cpp), whole in the module: its io_context, SSL
// context and stream are created, run and destroyed here, so no Asio object crosses into the
// executable, whose copy of Asio's state is a different one.
namespace afp::http::exchange_detail {

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

// What a failed handshake means, in the certificate check's own words when that failed.
template <>
ClientError handshake_failure(TlsStream& stream, error_code ec) {
  SSL* ssl = stream.native_handle();
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

namespace {

bool is_ip_address(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
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

}  // namespace

}  // namespace afp::http::exchange_detail

namespace afp::websec {

std::optional<http::ClientResponse> https_get(const http::Url& url, const std::string& request,
                                              std::chrono::milliseconds timeout,
                                              const http::ClientOptions& options,
                                              http::ClientError* error) {
  using namespace http::exchange_detail;
  net::io_context io;
  net::ssl::context ssl(net::ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ssl.native_handle(), TLS1_2_VERSION);
  if (!load_trust(ssl, options.tls, error)) return std::nullopt;
  TlsStream stream(io, ssl);
  if (!expect_host(stream.native_handle(), url.host, !options.tls.skip, error)) {
    return std::nullopt;
  }
  return exchange(io, stream, url, request, timeout, options.max_body, error);
}

}  // namespace afp::websec
