#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace afp::http {

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

// Certificates, key and handshake policy, checked and ready for OpenSSL. Immutable; every
// handshake holds a reference to the one it started with.
class TlsSettings;

// Reads the certificate, key and CA files and checks everything OpenSSL will be asked to
// do. Throws ServerError "<where>: tls_server_config.<key>: <problem>", naming the file.
std::shared_ptr<const TlsSettings> load_tls_settings(const TlsServerConfig& config,
                                                     const std::string& where);

// The TLS side of a running server. The listener creates the SSL_CTX and hands it to
// init(); each handshake then takes its certificate, key, versions, ciphers and
// client-certificate policy from the settings current at that moment, so update() (a
// reload) applies to every new connection without a restart.
class TlsContext {
 public:
  explicit TlsContext(std::shared_ptr<const TlsSettings> settings);
  void update(std::shared_ptr<const TlsSettings> settings);
  std::shared_ptr<const TlsSettings> current() const;
  // Makes ctx take its settings from here; false when OpenSSL refuses them.
  bool init(ssl_ctx_st* ctx);

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const TlsSettings> settings_;
};

}  // namespace afp::http
