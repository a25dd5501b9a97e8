#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "http/basic_auth.h"
#include "http/web_config.h"

namespace afp::websec {

// http::WebConfig as the module parses it (http/web_config.h describes the file).
class LoadedWebConfig final : public http::WebConfig {
 public:
  // Throws http::ServerError naming the file and the key.
  static std::shared_ptr<const http::WebConfig> parse(std::string_view yaml,
                                                      const std::string& path);

  const std::string& path() const override { return path_; }
  bool tls_enabled() const override { return tls_ != nullptr; }
  const std::shared_ptr<const http::TlsSettings>& tls() const override { return tls_; }
  std::size_t user_count() const override { return auth_ ? auth_->size() : 0; }
  const std::vector<std::pair<std::string, std::string>>& headers() const override {
    return headers_;
  }
  bool admit(const http::Request& request, http::Response& response,
             bool check_basic_auth = true) const override;
  bool admits_at_once(const http::Request& request, bool check_basic_auth = true) const override;
  void add_headers(http::Response& response) const override;

 private:
  LoadedWebConfig() = default;

  std::string path_;
  std::shared_ptr<const http::TlsSettings> tls_;
  std::unique_ptr<http::BasicAuth> auth_;
  std::vector<std::pair<std::string, std::string>> headers_;
  // Token bucket as Go's rate.NewLimiter(rate.Every(interval), burst); off when interval 0.
  std::chrono::nanoseconds rate_interval_{0};
  int rate_burst_ = 0;
  mutable std::mutex rate_mutex_;
  mutable double tokens_ = 0;
  mutable std::chrono::steady_clock::time_point refilled_{};
};

}  // namespace afp::websec
