#include "websec/tls_context.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <string_view>

#include "core/text_file.h"
#include "http/server.h"
#include "http/web_config.h"
#include "websec/tls_engine.h"

namespace afp::http {

namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, Deleter<SSL_CTX_free>>;

// Go's tls.CipherSuites(), the names exporter-toolkit accepts. The TLS 1.3 suites are
// accepted and, as in Go, not configurable: OpenSSL's TLS 1.3 defaults stay.
constexpr std::array<std::string_view, 14> kTls12CipherSuites = {
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
};
constexpr std::array<std::string_view, 3> kTls13CipherSuites = {
    "TLS_AES_128_GCM_SHA256",
    "TLS_AES_256_GCM_SHA384",
    "TLS_CHACHA20_POLY1305_SHA256",
};

struct NamedValue {
  std::string_view name;
  int value;
};
constexpr std::array<NamedValue, 4> kVersions = {{{"TLS10", TLS1_VERSION},
                                                  {"TLS11", TLS1_1_VERSION},
                                                  {"TLS12", TLS1_2_VERSION},
                                                  {"TLS13", TLS1_3_VERSION}}};

struct Curve {
  std::string_view go_name;
  std::string_view openssl_name;
};
constexpr std::array<Curve, 4> kCurves = {
    {{"CurveP256", "P-256"}, {"CurveP384", "P-384"}, {"CurveP521", "P-521"}, {"X25519", "X25519"}}};

struct ClientAuth {
  std::string_view name;
  int verify_mode;
  bool verify_chain;  // false: any certificate will do (Go's Request/RequireAny)
};
constexpr std::array<ClientAuth, 6> kClientAuth = {{
    {"NoClientCert", SSL_VERIFY_NONE, false},
    {"RequestClientCert", SSL_VERIFY_PEER, false},
    {"RequireAnyClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, false},
    {"RequireClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, false},  // old name
    {"VerifyClientCertIfGiven", SSL_VERIFY_PEER, true},
    {"RequireAndVerifyClientCert", SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, true},
}};

// The first (root-cause) OpenSSL error as "library: reason"; clears the queue.
std::string openssl_error() {
  unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return "unknown OpenSSL error";
  const char* lib = ERR_lib_error_string(first);
  const char* reason = ERR_reason_error_string(first);
  std::string out = lib ? lib : "OpenSSL";
  out += ": ";
  out += reason ? reason : "error " + std::to_string(ERR_GET_REASON(first));
  return out;
}

// Never prompt on the terminal for a pass phrase: encrypted keys are refused (as in Go).
int no_pass_phrase(char*, int, int, void*) {
  return 0;
}

// Every certificate of a PEM text, in order; an error for a damaged block.
std::vector<X509Ptr> read_certificates(const std::string& pem, std::string* error) {
  std::vector<X509Ptr> out;
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  ERR_clear_error();
  while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, no_pass_phrase, nullptr)) {
    out.emplace_back(cert);
  }
  unsigned long last = ERR_peek_last_error();
  bool clean_end = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE;
  if (!clean_end && last != 0) {
    *error = "not a valid PEM certificate: " + openssl_error();
    out.clear();
    return out;
  }
  ERR_clear_error();
  if (out.empty()) *error = "no PEM certificate (\"-----BEGIN CERTIFICATE-----\") found";
  return out;
}

// exporter-toolkit's check: the client certificate has one of these SANs, exactly.
bool has_allowed_san(X509* cert, const std::vector<std::string>& allowed) {
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (!names) return false;
  bool found = false;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    std::string text;
    if (name->type == GEN_DNS || name->type == GEN_EMAIL || name->type == GEN_URI) {
      const ASN1_IA5STRING* s = name->d.ia5;
      text.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                  static_cast<std::size_t>(ASN1_STRING_length(s)));
    } else if (name->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* ip = name->d.iPAddress;
      std::array<char, INET6_ADDRSTRLEN> buf{};
      int length = ASN1_STRING_length(ip);
      if (length != 4 && length != 16) continue;
      inet_ntop(length == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(ip), buf.data(),
                static_cast<socklen_t>(buf.size()));
      text = buf.data();
    } else {
      continue;
    }
    found = std::find(allowed.begin(), allowed.end(), text) != allowed.end();
  }
  GENERAL_NAMES_free(names);
  return found;
}

}  // namespace

class TlsSettings {
 public:
  TlsSettings() = default;
  TlsSettings(const TlsSettings&) = delete;
  TlsSettings& operator=(const TlsSettings&) = delete;
  ~TlsSettings() {
    X509_free(cert);
    EVP_PKEY_free(key);
    sk_X509_pop_free(chain, X509_free);
    X509_STORE_free(ca_store);
    sk_X509_NAME_pop_free(ca_names, X509_NAME_free);
  }

  // Everything a handshake needs from us; false (with OpenSSL's error queued) on failure.
  bool apply(SSL* ssl) const {
    if (!SSL_set_min_proto_version(ssl, min_version) ||
        !SSL_set_max_proto_version(ssl, max_version)) {
      return false;
    }
    if (prefer_server_ciphers) {
      SSL_set_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
    } else {
      SSL_clear_options(ssl, SSL_OP_CIPHER_SERVER_PREFERENCE);
    }
    if (!cipher_list.empty() && SSL_set_cipher_list(ssl, cipher_list.c_str()) != 1) return false;
    if (!groups.empty() && SSL_set1_groups_list(ssl, groups.c_str()) != 1) return false;
    if (SSL_use_cert_and_key(ssl, cert, key, chain, 1) != 1) return false;
    SSL_set_verify(ssl, verify_mode, verify_mode == SSL_VERIFY_NONE ? nullptr : &verify_client);
    if (ca_store && SSL_set1_verify_cert_store(ssl, ca_store) != 1) return false;
    if (ca_names) SSL_set_client_CA_list(ssl, SSL_dup_CA_list(ca_names));
    return true;
  }

  static int verify_client(int preverify_ok, X509_STORE_CTX* store);
  static int ex_index();

  X509* cert = nullptr;
  EVP_PKEY* key = nullptr;
  STACK_OF(X509) * chain = nullptr;
  X509_STORE* ca_store = nullptr;
  STACK_OF(X509_NAME) * ca_names = nullptr;
  int verify_mode = SSL_VERIFY_NONE;
  bool verify_chain = false;
  std::vector<std::string> allowed_sans;
  int min_version = TLS1_2_VERSION;
  int max_version = TLS1_3_VERSION;
  bool prefer_server_ciphers = true;
  std::string cipher_list;  // OpenSSL names, TLS 1.2 and older; "": OpenSSL's default
  std::string groups;       // "": OpenSSL's default
};

namespace {

// The TLS side of a running server over one SSL_CTX, whose handshakes each take their
// certificate, key, versions, ciphers and client-certificate policy from the settings
// current when the client's hello arrives.
class TlsContext final : public TlsServer {
 public:
  explicit TlsContext(std::shared_ptr<const TlsSettings> settings);
  void update(std::shared_ptr<const TlsSettings> settings) override;
  std::unique_ptr<TlsEngine> accept() override;
  std::shared_ptr<const TlsSettings> current() const;
  // Makes the context take its settings from here; false when OpenSSL refuses them.
  bool init();

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const TlsSettings> settings_;
  SslCtxPtr ctx_{SSL_CTX_new(TLS_server_method())};
};

using Holder = std::shared_ptr<const TlsSettings>;

void free_holder(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<Holder*>(ptr);
}

int on_client_hello(SSL* ssl, int* alert, void* arg) {
  // A HelloRetryRequest calls again: the connection keeps the settings it started with.
  if (SSL_get_ex_data(ssl, TlsSettings::ex_index())) return SSL_CLIENT_HELLO_SUCCESS;
  auto settings = static_cast<const TlsContext*>(arg)->current();
  if (!settings || !settings->apply(ssl)) {
    ERR_clear_error();
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  // Kept alive with the connection: the verify callback reads it after this returns.
  SSL_set_ex_data(ssl, TlsSettings::ex_index(), new Holder(std::move(settings)));
  return SSL_CLIENT_HELLO_SUCCESS;
}

}  // namespace

int TlsSettings::ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, free_holder);
  return index;
}

int TlsSettings::verify_client(int preverify_ok, X509_STORE_CTX* store) {
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  auto* holder = ssl ? static_cast<Holder*>(SSL_get_ex_data(ssl, ex_index())) : nullptr;
  if (!holder || !*holder) return 0;
  const TlsSettings& s = **holder;
  int ok = s.verify_chain ? preverify_ok : 1;
  if (ok && !s.allowed_sans.empty() && X509_STORE_CTX_get_error_depth(store) == 0 &&
      !has_allowed_san(X509_STORE_CTX_get_current_cert(store), s.allowed_sans)) {
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    ok = 0;
  }
  return ok;
}

bool TlsServerConfig::wanted() const {
  return !cert_file.empty() || !key_file.empty() || !client_ca_file.empty() || !cert.empty() ||
         !key.empty() || !client_ca.empty() || !client_auth_type.empty();
}

std::shared_ptr<const TlsSettings> load_tls_settings(const TlsServerConfig& c,
                                                     const std::string& where) {
  auto fail = [&](const std::string& key, const std::string& problem) {
    throw ServerError(where + ": tls_server_config." + key + ": " + problem);
  };
  struct Pem {
    std::string label;  // how messages name it: `cert_file "/etc/x.crt"` or `cert`
    std::string text;
  };
  auto pem = [&](const std::string& file_key, const std::string& file,
                 const std::string& inline_key, const std::string& text) {
    if (!file.empty() && !text.empty()) {
      fail(inline_key, inline_key + " and " + file_key + " are mutually exclusive");
    }
    if (file.empty()) return Pem{inline_key, text};
    Pem out{file_key + " \"" + file + "\"", {}};
    std::string error;
    if (!core::read_text_file(file, &out.text, &error)) fail(out.label, "cannot read: " + error);
    return out;
  };

  auto s = std::make_shared<TlsSettings>();
  if (c.cert_file.empty() && c.cert.empty()) {
    fail("cert_file", "missing: TLS needs a certificate (cert_file or cert)");
  }
  if (c.key_file.empty() && c.key.empty()) {
    fail("key_file", "missing: TLS needs a private key (key_file or key)");
  }
  Pem cert_pem = pem("cert_file", c.cert_file, "cert", c.cert);
  Pem key_pem = pem("key_file", c.key_file, "key", c.key);
  Pem ca_pem = pem("client_ca_file", c.client_ca_file, "client_ca", c.client_ca);

  std::string error;
  auto certs = read_certificates(cert_pem.text, &error);
  if (certs.empty()) fail(cert_pem.label, error);
  {
    BioPtr bio(BIO_new_mem_buf(key_pem.text.data(), static_cast<int>(key_pem.text.size())));
    ERR_clear_error();
    s->key = PEM_read_bio_PrivateKey(bio.get(), nullptr, no_pass_phrase, nullptr);
    if (!s->key) {
      fail(key_pem.label,
           "not a PEM private key (encrypted keys are not supported): " + openssl_error());
    }
  }
  if (X509_check_private_key(certs.front().get(), s->key) != 1) {
    ERR_clear_error();
    fail(key_pem.label, "does not match the certificate in " + cert_pem.label);
  }
  s->cert = certs.front().release();
  s->chain = sk_X509_new_null();
  for (std::size_t i = 1; i < certs.size(); ++i)
    sk_X509_push(s->chain, certs[i].release());

  // Client certificates.
  std::string auth_name = c.client_auth_type.empty() ? "NoClientCert" : c.client_auth_type;
  auto auth = std::find_if(kClientAuth.begin(), kClientAuth.end(),
                           [&](const ClientAuth& a) { return a.name == auth_name; });
  if (auth == kClientAuth.end()) {
    fail("client_auth_type",
         "\"" + auth_name +
             "\" is not one of NoClientCert, RequestClientCert, RequireAnyClientCert, "
             "VerifyClientCertIfGiven, RequireAndVerifyClientCert");
  }
  s->verify_mode = auth->verify_mode;
  s->verify_chain = auth->verify_chain;
  bool has_ca = !c.client_ca_file.empty() || !c.client_ca.empty();
  if (has_ca && auth->verify_mode == SSL_VERIFY_NONE) {
    fail(ca_pem.label,
         "set, but client_auth_type is NoClientCert: set client_auth_type to "
         "RequireAndVerifyClientCert to check client certificates");
  }
  if (!has_ca && auth->verify_chain) {
    fail("client_ca_file",
         "missing: client_auth_type " + auth_name + " verifies client certificates against it");
  }
  if (has_ca) {
    auto cas = read_certificates(ca_pem.text, &error);
    if (cas.empty()) fail(ca_pem.label, error);
    s->ca_store = X509_STORE_new();
    s->ca_names = sk_X509_NAME_new_null();
    for (auto& ca : cas) {
      X509_STORE_add_cert(s->ca_store, ca.get());
      sk_X509_NAME_push(s->ca_names, X509_NAME_dup(X509_get_subject_name(ca.get())));
    }
  }
  if (!c.client_allowed_sans.empty()) {
    // A SAN is only worth checking on a certificate whose chain was verified: otherwise a
    // client signs its own certificate naming an allowed SAN.
    if (!auth->verify_chain || !(auth->verify_mode & SSL_VERIFY_FAIL_IF_NO_PEER_CERT)) {
      fail("client_allowed_sans",
           "needs client_auth_type RequireAndVerifyClientCert: with " + auth_name +
               (auth->verify_chain ? " a client may send no certificate to match"
                                   : " a client's certificate is not verified, so any client "
                                     "can make one naming an allowed SAN"));
    }
    s->allowed_sans = c.client_allowed_sans;
  }

  // Versions.
  auto version = [&](const std::string& key, const std::string& name, int fallback) {
    if (name.empty()) return fallback;
    for (const auto& v : kVersions) {
      if (v.name == name) return v.value;
    }
    fail(key, "\"" + name + "\" is not one of TLS10, TLS11, TLS12, TLS13");
    return fallback;
  };
  s->min_version = version("min_version", c.min_version, TLS1_2_VERSION);
  s->max_version = version("max_version", c.max_version, TLS1_3_VERSION);
  if (s->min_version > s->max_version) {
    fail("min_version", "\"" + c.min_version + "\" is above max_version \"" + c.max_version + "\"");
  }

  // Cipher suites and curves, by Go's names.
  for (const auto& name : c.cipher_suites) {
    auto known = [&](const auto& list) {
      return std::find(list.begin(), list.end(), name) != list.end();
    };
    if (known(kTls13CipherSuites)) continue;
    bool tls12 = known(kTls12CipherSuites);
    const char* openssl_name = tls12 ? OPENSSL_cipher_name(name.c_str()) : "(NONE)";
    if (!tls12 || std::string_view(openssl_name) == "(NONE)") {
      fail("cipher_suites", "unknown or insecure cipher suite \"" + name +
                                "\" (Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)");
    }
    s->cipher_list += (s->cipher_list.empty() ? "" : ":") + std::string(openssl_name);
  }
  s->prefer_server_ciphers = c.prefer_server_cipher_suites;
  for (const auto& name : c.curve_preferences) {
    auto curve = std::find_if(kCurves.begin(), kCurves.end(),
                              [&](const Curve& k) { return k.go_name == name; });
    if (curve == kCurves.end()) {
      fail("curve_preferences",
           "unknown curve \"" + name + "\" (CurveP256, CurveP384, CurveP521 or X25519)");
    }
    s->groups += (s->groups.empty() ? "" : ":") + std::string(curve->openssl_name);
  }

  // Whatever OpenSSL would refuse at the first handshake, it refuses now.
  SslCtxPtr probe(SSL_CTX_new(TLS_server_method()));
  if (!probe) throw ServerError(where + ": cannot create an OpenSSL context: " + openssl_error());
  if (SSL_CTX_use_cert_and_key(probe.get(), s->cert, s->key, s->chain, 1) != 1) {
    fail(cert_pem.label, "OpenSSL refuses the certificate and key: " + openssl_error());
  }
  if (!s->cipher_list.empty() &&
      SSL_CTX_set_cipher_list(probe.get(), s->cipher_list.c_str()) != 1) {
    fail("cipher_suites", "OpenSSL can use none of them: " + openssl_error());
  }
  if (!s->groups.empty() && SSL_CTX_set1_groups_list(probe.get(), s->groups.c_str()) != 1) {
    fail("curve_preferences", "OpenSSL refuses them: " + openssl_error());
  }
  return s;
}

TlsContext::TlsContext(std::shared_ptr<const TlsSettings> settings)
    : settings_(std::move(settings)) {}

void TlsContext::update(std::shared_ptr<const TlsSettings> settings) {
  std::lock_guard lock(mutex_);
  settings_ = std::move(settings);
}

std::shared_ptr<const TlsSettings> TlsContext::current() const {
  std::lock_guard lock(mutex_);
  return settings_;
}

std::unique_ptr<TlsEngine> TlsContext::accept() {
  SSL* ssl = SSL_new(ctx_.get());
  if (!ssl) {
    ERR_clear_error();
    return nullptr;
  }
  return websec::make_tls_engine(ssl);
}

bool TlsContext::init() {
  SSL_CTX* ctx = ctx_.get();
  auto settings = current();
  if (!ctx || !settings) return false;
  // Whatever version limits the context came with would cap what min_version allows.
  SSL_CTX_clear_options(ctx, SSL_OP_NO_SSLv3 | SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1 |
                                 SSL_OP_NO_TLSv1_2 | SSL_OP_NO_TLSv1_3);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  // An idle or slow connection gives its 34 KB of record buffers back between reads.
  SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
  // No session resumption: a session from before a reload would skip the client-certificate
  // check of the new settings. Prometheus keeps its connections open anyway.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  SSL_CTX_set_num_tickets(ctx, 0);
  // The context's own defaults; every handshake replaces them in on_client_hello.
  if (SSL_CTX_use_cert_and_key(ctx, settings->cert, settings->key, settings->chain, 1) != 1 ||
      !SSL_CTX_set_min_proto_version(ctx, settings->min_version) ||
      !SSL_CTX_set_max_proto_version(ctx, settings->max_version)) {
    ERR_clear_error();
    return false;
  }
  SSL_CTX_set_client_hello_cb(ctx, on_client_hello, this);
  return true;
}

}  // namespace afp::http

namespace afp::websec {

std::unique_ptr<http::TlsServer> make_tls_server(std::shared_ptr<const http::TlsSettings> settings,
                                                 std::string* error) {
  auto server = std::make_unique<http::TlsContext>(std::move(settings));
  if (!server->init()) {
    *error = "cannot set up TLS: OpenSSL refused the certificate or key";
    return nullptr;
  }
  return server;
}

}  // namespace afp::websec
