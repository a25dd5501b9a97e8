#include "config/secret.h"

#include <fstream>
#include <sstream>

namespace afp::config {

std::string read_secret_file(const std::string& path, const std::string& source) {
  std::ifstream in(path);
  if (!in) throw SecretError(source + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
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

}  // namespace afp::config
