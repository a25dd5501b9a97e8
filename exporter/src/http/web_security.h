#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/client.h"

namespace afp::http {

class WebConfig;
class TlsSettings;

// One TLS connection over memory, as OpenSSL sees it through a BIO pair: the caller moves
// the ciphertext between the engine and the socket, so the module never touches the
// executable's Asio objects.
class TlsEngine {
 public:
  enum class Want {
    Nothing,         // the operation is over
    Input,           // more ciphertext from the peer (put_input), then the same call again
    OutputAndRetry,  // send take_output() to the peer, then the same call again
    Output,          // the operation is over once take_output() has been sent
  };
  struct Step {
    Want want = Want::Nothing;
    std::size_t bytes = 0;  // plaintext read or written
    bool failed = false;    // a TLS error: the connection is unusable
    bool closed = false;    // the peer sent close_notify
  };

  virtual ~TlsEngine() = default;
  virtual Step handshake() = 0;
  virtual Step read(void* data, std::size_t size) = 0;
  virtual Step write(const void* data, std::size_t size) = 0;
  // Ciphertext received from the peer; returns how much the engine took.
  virtual std::size_t put_input(const void* data, std::size_t size) = 0;
  // Ciphertext for the peer, at most size bytes; returns how much was copied.
  virtual std::size_t take_output(void* data, std::size_t size) = 0;
};

// The TLS side of a running server: each new connection's handshake takes the settings
// current at that moment, so update() (a reload) applies without a restart.
class TlsServer {
 public:
  virtual ~TlsServer() = default;
  virtual void update(std::shared_ptr<const TlsSettings> settings) = 0;
  // A server-side engine for an accepted connection; null when OpenSSL cannot make one.
  virtual std::unique_ptr<TlsEngine> accept() = 0;
};

struct WebConfigResult {
  std::shared_ptr<const WebConfig> config;  // null when error is set
  std::string error;
};

struct BcryptHashResult {
  std::string hash;  // empty when error is set
  std::string error;
};

// What needs yaml-cpp, libcrypt or OpenSSL: the module afp_web_security.so, loaded only when
// a web config, a bcrypt hash or TLS is asked for, so an exporter without them never maps
// those libraries. Only our own types cross this boundary, and no exception does: a module
// has its own copies of what it links (Asio's state, error categories), so failures come
// back as messages.
class WebSecurity {
 public:
  virtual ~WebSecurity() = default;
  // WebConfig::parse's work; error holds the message ServerError carries.
  virtual WebConfigResult parse_web_config(std::string_view yaml,
                                           const std::string& path) const = 0;
  // bcrypt_hash's work (http/basic_auth.h).
  virtual BcryptHashResult bcrypt_hash(std::string_view password, int cost) const = 0;
  // The TLS side of a server speaking with `settings` (WebConfig::tls()); null with *error
  // set when OpenSSL refuses them.
  virtual std::unique_ptr<TlsServer> tls_server(std::shared_ptr<const TlsSettings> settings,
                                                std::string* error) const = 0;
  // http::get of an https:// URL, with the request already built.
  virtual std::optional<ClientResponse> https_get(const Url& url, const std::string& request,
                                                  std::chrono::milliseconds timeout,
                                                  const ClientOptions& options,
                                                  ClientError* error) const = 0;
};

// The module, loaded on first use (thread-safe) from <exe dir>/afp_web_security.so, else
// <exe dir>/../lib/afp-exporter/afp_web_security.so. Throws ServerError naming the files
// looked for when it cannot be loaded.
const WebSecurity& web_security();

}  // namespace afp::http

// The module's one entry point. A program that links the implementation itself (the tests)
// defines it, and web_security() then uses it without loading anything.
extern "C" const afp::http::WebSecurity* afp_web_security();
