#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace afp::pg {

// A bad or unreadable DSN. The message names where the DSN came from, never its text.
class DsnError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Dsn {
  std::string conninfo;  // libpq key=value string or postgresql:// URI
  std::string source;    // "AFP_PG_DSN", "AFP_PG_DSN_FILE /path", "pg.dsn-file /path"
};

// The DSN from, in order, the AFP_PG_DSN environment variable, the file named by
// AFP_PG_DSN_FILE, or the file named by the pg.dsn-file option; nullopt when none is set.
// Checks the syntax with libpq. Throws DsnError.
std::optional<Dsn> load_dsn(const char* env_dsn, const char* env_file,
                            const std::string& file_option);

// The options a DSN sets (keyword → value, unset ones left out); nullopt when libpq cannot
// parse it.
using ConninfoOptions = std::map<std::string, std::string, std::less<>>;
std::optional<ConninfoOptions> parse_conninfo(std::string_view conninfo);

// "user@host:port/dbname" for log lines: what the DSN connects to, without secrets.
std::string describe(std::string_view conninfo);

// Replaces every occurrence of the DSN's password in text; libpq's own messages do not
// echo passwords, but a message may quote input, and this is the last line of defence.
std::string scrub(std::string text, std::string_view conninfo);

}  // namespace afp::pg
