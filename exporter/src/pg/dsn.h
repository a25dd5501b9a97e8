#pragma once

#include <functional>
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
  // Where it came from, for log lines: "AFP_PG_DSN", "AFP_PG_DSN_FILE /path",
  // "pg.dsn-file /path", "DATA_SOURCE_NAME", or the variables a URI was composed from,
  // e.g. "DATA_SOURCE_URI + DATA_SOURCE_USER + DATA_SOURCE_PASS_FILE /path".
  std::string source;
};

// Reads an environment variable (std::getenv, or a map in tests); null when unset.
using Getenv = std::function<const char*(const char*)>;

// The DSN from, in order, the AFP_PG_DSN environment variable, the file named by
// AFP_PG_DSN_FILE, or the file named by the pg.dsn-file option; nullopt when none is set.
// Checks the syntax with libpq. Throws DsnError.
std::optional<Dsn> load_dsn(const char* env_dsn, const char* env_file,
                            const std::string& file_option);

// postgres_exporter's variables, as postgres_exporter 0.11 reads them:
//   DATA_SOURCE_NAME                a DSN (URI or key=value); a comma-separated list of
//                                   several is refused (this exporter connects to one);
//   otherwise DATA_SOURCE_URI[_FILE] "host:port/dbname?sslmode=disable", composed into
//                                   postgresql://USER:PASS@URI with DATA_SOURCE_USER[_FILE]
//                                   and DATA_SOURCE_PASS[_FILE] (each percent-encoded). A
//                                   _FILE variable wins over its plain one; file contents
//                                   lose leading and trailing white space.
// nullopt when neither DATA_SOURCE_NAME nor DATA_SOURCE_URI[_FILE] is set. Throws DsnError
// naming the variable (never a value) for an unreadable or empty file, a value with a line
// break inside, a user or password without DATA_SOURCE_URI, or a result libpq cannot parse.
std::optional<Dsn> load_postgres_exporter_dsn(const Getenv& getenv);

// The DSN this process uses: load_dsn's own sources (AFP_PG_DSN, AFP_PG_DSN_FILE,
// pg.dsn-file) first, then postgres_exporter's variables. Throws DsnError.
std::optional<Dsn> load_dsn_from_environment(const Getenv& getenv, const std::string& file_option);

// Percent-encodes everything but RFC 3986's unreserved characters (A-Z a-z 0-9 - . _ ~), for
// the user and password of a postgresql:// URI; libpq decodes it back.
std::string uri_encode(std::string_view text);

// The options a DSN sets (keyword → value, unset ones left out); nullopt when libpq cannot
// parse it.
using ConninfoOptions = std::map<std::string, std::string, std::less<>>;
std::optional<ConninfoOptions> parse_conninfo(std::string_view conninfo);

// "user@host:port/dbname" for log lines: what the DSN connects to, without secrets.
std::string describe(std::string_view conninfo);

// Which setting chose the database a DSN connects to, and what to change, for the message
// of a server that has no such database: dbname in the DSN, else PGDATABASE, else libpq's
// default, the user name. `dsn_source` is Dsn::source (may be empty).
std::string database_origin(std::string_view conninfo, std::string_view dsn_source,
                            const Getenv& getenv);

// Replaces every occurrence of the DSN's password in text; libpq's own messages do not
// echo passwords, but a message may quote input, and this is the last line of defence.
std::string scrub(std::string text, std::string_view conninfo);

}  // namespace afp::pg
