#include "http/web_config.h"

#include "core/text_file.h"
#include "http/web_security.h"

namespace afp::http {

std::shared_ptr<const WebConfig> WebConfig::load(const std::string& path) {
  std::string text, error;
  if (!core::read_text_file(path, &text, &error)) {
    throw ServerError("web config file \"" + path + "\": cannot read: " + error);
  }
  return parse(text, path);
}

std::shared_ptr<const WebConfig> WebConfig::parse(std::string_view yaml, const std::string& path) {
  auto result = web_security().parse_web_config(yaml, path);
  if (!result.config) throw ServerError(result.error);
  return result.config;
}

}  // namespace afp::http
