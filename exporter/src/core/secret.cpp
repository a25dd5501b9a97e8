#include "core/secret.h"

#include "core/text_file.h"

namespace afp::core {

std::string read_secret_file(const std::string& path, const std::string& source) {
  std::string text, error;
  // The reason is the system's ("Permission denied"): it never holds the file's text.
  if (!core::read_text_file(path, &text, &error)) {
    throw SecretError(source + ": cannot read the file: " + error);
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  if (text.empty()) throw SecretError(source + ": the file is empty");
  return text;
}

std::optional<Secret> load_secret(const SecretSources& s) {
  if (s.env_value && *s.env_value) return Secret{s.env_value, std::string(s.env_name)};
  if (s.env_file && *s.env_file) {
    std::string source = std::string(s.env_name) + "_FILE " + s.env_file;
    return Secret{read_secret_file(s.env_file, source), source};
  }
  if (!s.option_file.empty()) {
    std::string source = std::string(s.option_name) + " " + s.option_file;
    return Secret{read_secret_file(s.option_file, source), source};
  }
  return std::nullopt;
}

}  // namespace afp::core
