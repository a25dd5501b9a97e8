#include "websec/module.h"

#include <exception>

#include "http/basic_auth.h"
#include "websec/https_client.h"
#include "websec/tls_context.h"
#include "websec/web_config.h"

namespace afp::websec {

namespace {

class Module final : public http::WebSecurity {
 public:
  http::WebConfigResult parse_web_config(std::string_view yaml,
                                         const std::string& path) const override {
    try {
      return {LoadedWebConfig::parse(yaml, path), {}};
    } catch (const std::exception& e) {
      return {nullptr, e.what()};
    }
  }

  http::BcryptHashResult bcrypt_hash(std::string_view password, int cost) const override {
    try {
      return {http::bcrypt_hash(password, cost), {}};
    } catch (const std::exception& e) {
      return {{}, e.what()};
    }
  }

  std::unique_ptr<http::TlsServer> tls_server(std::shared_ptr<const http::TlsSettings> settings,
                                              std::string* error) const override {
    return make_tls_server(std::move(settings), error);
  }

  std::optional<http::ClientResponse> https_get(const http::Url& url, const std::string& request,
                                                std::chrono::milliseconds timeout,
                                                const http::ClientOptions& options,
                                                http::ClientError* error) const override {
    try {
      return websec::https_get(url, request, timeout, options, error);
    } catch (const std::exception& e) {
      *error = {http::ClientError::Kind::Exchange, e.what()};
      return std::nullopt;
    }
  }
};

}  // namespace

const http::WebSecurity& module() {
  static const Module instance;
  return instance;
}

}  // namespace afp::websec
