#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/server.h"

namespace afp::http {

class TlsSettings;

// A --web.config.file in the exporter-toolkit format, so the file an operator already
// uses for node_exporter works here unchanged:
//
//   tls_server_config:    cert_file/key_file (or inline cert/key), client_auth_type,
//                         client_ca_file (or client_ca), client_allowed_sans, min_version,
//                         max_version, cipher_suites, prefer_server_cipher_suites,
//                         curve_preferences
//   http_server_config:   headers (the five exporter-toolkit allows), http2 (accepted,
//                         no effect: the server speaks HTTP/1.1)
//   basic_auth_users:     user: bcrypt hash
//   rate_limit:           interval, burst
//
// Relative paths are relative to the file's directory. Unknown keys, wrong types, missing
// or unusable files and non-bcrypt hashes are errors. A loaded config is immutable but for
// its login cache and rate-limit bucket; a reload loads a new one.
//
// The parser and the checks live in the module afp_web_security.so (http/web_security.h,
// the implementation in websec/), loaded by load() and parse(): this is the interface.
class WebConfig {
 public:
  virtual ~WebConfig() = default;

  // Reads and validates the file; throws ServerError naming the file and the key.
  static std::shared_ptr<const WebConfig> load(const std::string& path);
  // The same for YAML text; `path` names it in messages and anchors relative paths.
  static std::shared_ptr<const WebConfig> parse(std::string_view yaml, const std::string& path);

  virtual const std::string& path() const = 0;
  virtual bool tls_enabled() const = 0;
  virtual const std::shared_ptr<const TlsSettings>& tls() const = 0;
  virtual std::size_t user_count() const = 0;
  virtual const std::vector<std::pair<std::string, std::string>>& headers() const = 0;

  // Whether the request may go on to its handler; if not, `response` is the 429 (rate
  // limit), the 401 with "WWW-Authenticate: Basic", or the 503 when every bcrypt slot
  // stayed busy. Routes that authenticate on their own pass check_basic_auth = false.
  virtual bool admit(const Request& request, Response& response,
                     bool check_basic_auth = true) const = 0;
  // Whether admit() can decide without a bcrypt (no users, no basic auth on the route, or
  // remembered credentials), so an I/O thread may call it without stalling.
  virtual bool admits_at_once(const Request& request, bool check_basic_auth = true) const = 0;
  // Adds the configured headers the handler did not set itself (to every response).
  virtual void add_headers(Response& response) const = 0;
};

}  // namespace afp::http
