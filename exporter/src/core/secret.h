#pragma once

// Secrets (the PostgreSQL DSN, the ingest token) come from an environment variable, a file
// it names, or a file a config key names: never from argv, where `ps` shows them.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace afp::core {

// An unreadable or empty secret file. The message names where the secret came from,
// never its text.
class SecretError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Secret {
  std::string value;
  std::string source;  // "AFP_PG_DSN", "AFP_PG_DSN_FILE /path", "pg.dsn-file /path"
};

// Where to look, in order: the variable NAME, the file named by NAME_FILE, the file named by
// the config key. The values are passed in (getenv's) so tests need no environment.
struct SecretSources {
  std::string_view env_name;  // "AFP_PG_DSN"; its file variable is env_name + "_FILE"
  const char* env_value;
  const char* env_file;
  std::string_view option_name;  // "pg.dsn-file"
  const std::string& option_file;
};

// nullopt when none is set. A file's trailing newlines and spaces are not part of it.
std::optional<Secret> load_secret(const SecretSources& sources);

// The text of a secret file without its trailing newlines and spaces. Throws SecretError
// naming `source` (never the text) when the file cannot be read or holds nothing else.
std::string read_secret_file(const std::string& path, const std::string& source);

}  // namespace afp::core
