#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/client.h"

namespace afp::http {

class WebConfig;

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
