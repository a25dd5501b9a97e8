#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "http/web_security.h"

namespace afp::http {

// Certificates, key and handshake policy, checked and ready for OpenSSL (defined in
// tls_context.cpp). Immutable; every handshake holds a reference to the one it started with.
class TlsSettings;

// tls_server_config of a web config file as written (exporter-toolkit names), with the
// file paths already resolved against the file's directory.
struct TlsServerConfig {
  std::string cert_file, key_file, client_ca_file;
  std::string cert, key, client_ca;  // inline PEM, the alternative to the *_file keys
  std::string client_auth_type;      // "": NoClientCert
  std::vector<std::string> client_allowed_sans;
  std::string min_version, max_version;  // "": TLS12 and TLS13
  std::vector<std::string> cipher_suites;
  bool prefer_server_cipher_suites = true;
  std::vector<std::string> curve_preferences;

  // Whether the section asks for TLS at all. As in exporter-toolkit, a section with none
  // of the certificate, key, client CA and client auth keys means plain HTTP.
  bool wanted() const;
};

// Reads the certificate, key and CA files and checks everything OpenSSL will be asked to
// do. Throws ServerError "<where>: tls_server_config.<key>: <problem>", naming the file.
std::shared_ptr<const TlsSettings> load_tls_settings(const TlsServerConfig& config,
                                                     const std::string& where);

}  // namespace afp::http

namespace afp::websec {

// WebSecurity::tls_server.
std::unique_ptr<http::TlsServer> make_tls_server(std::shared_ptr<const http::TlsSettings> settings,
                                                 std::string* error);

}  // namespace afp::websec
