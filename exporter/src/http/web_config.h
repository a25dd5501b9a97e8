#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/basic_auth.h"
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
class WebConfig {
 public:
  // Reads and validates the file; throws ServerError naming the file and the key.
  static std::shared_ptr<const WebConfig> load(const std::string& path);
  // The same for YAML text; `path` names it in messages and anchors relative paths.
  static std::shared_ptr<const WebConfig> parse(std::string_view yaml, const std::string& path);

  const std::string& path() const { return path_; }
  bool tls_enabled() const { return tls_ != nullptr; }
  const std::shared_ptr<const TlsSettings>& tls() const { return tls_; }
  std::size_t user_count() const { return auth_ ? auth_->size() : 0; }
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }

  // Whether the request may go on to its handler; if not, `response` is the 429 (rate
  // limit), the 401 with "WWW-Authenticate: Basic", or the 503 when every bcrypt slot
  // stayed busy. Routes that authenticate on their own pass check_basic_auth = false.
  bool admit(const Request& request, Response& response, bool check_basic_auth = true) const;
  // Whether admit() can decide without a bcrypt (no users, no basic auth on the route, or
  // remembered credentials), so an I/O thread may call it without stalling.
  bool admits_at_once(const Request& request, bool check_basic_auth = true) const;
  // Adds the configured headers the handler did not set itself (to every response).
  void add_headers(Response& response) const;

 private:
  WebConfig() = default;

  std::string path_;
  std::shared_ptr<const TlsSettings> tls_;
  std::unique_ptr<BasicAuth> auth_;
  std::vector<std::pair<std::string, std::string>> headers_;
  // Token bucket as Go's rate.NewLimiter(rate.Every(interval), burst); off when interval 0.
  std::chrono::nanoseconds rate_interval_{0};
  int rate_burst_ = 0;
  mutable std::mutex rate_mutex_;
  mutable double tokens_ = 0;
  mutable std::chrono::steady_clock::time_point refilled_{};
};

}  // namespace afp::http
