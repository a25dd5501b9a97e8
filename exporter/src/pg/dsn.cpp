#include "pg/dsn.h"

#include <memory>

#include "core/secret.h"
#include "pg/libpq.h"

namespace afp::pg {

std::optional<ConninfoOptions> parse_conninfo(std::string_view conninfo) {
  char* err = nullptr;
  const Libpq& pq = libpq();
  std::unique_ptr<PQconninfoOption, decltype(pq.PQconninfoFree)> opts(
      pq.PQconninfoParse(std::string(conninfo).c_str(), &err), pq.PQconninfoFree);
  if (err) pq.PQfreemem(err);  // may quote the input, so it is never shown
  if (!opts) return std::nullopt;
  ConninfoOptions out;
  for (auto* o = opts.get(); o->keyword; ++o) {
    if (o->val && *o->val) out.emplace(o->keyword, o->val);
  }
  return out;
}

std::optional<Dsn> load_dsn(const char* env_dsn, const char* env_file,
                            const std::string& file_option) {
  std::optional<core::Secret> secret;
  try {
    secret = core::load_secret({"AFP_PG_DSN", env_dsn, env_file, "pg.dsn-file", file_option});
  } catch (const core::SecretError& e) {
    throw DsnError(e.what());
  }
  if (!secret) return std::nullopt;
  Dsn dsn{std::move(secret->value), std::move(secret->source)};
  if (!parse_conninfo(dsn.conninfo)) {
    throw DsnError(dsn.source +
                   ": not a valid libpq connection string or postgresql:// URI (its text is "
                   "not shown: it may hold a password)");
  }
  return dsn;
}

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// strings.TrimSpace, as postgres_exporter applies it to its files (ASCII white space).
std::string trim_space(std::string text) {
  while (!text.empty() && is_space(text.back()))
    text.pop_back();
  std::size_t start = 0;
  while (start < text.size() && is_space(text[start]))
    ++start;
  return text.substr(start);
}

struct EnvValue {
  std::string value;
  std::string source;  // the variable that gave it, "NAME" or "NAME_FILE /path"; "" if unset
};

// NAME_FILE when set (its file's text, trimmed), else NAME; a value with a line break inside
// is refused: one from a file is a file of several lines, one from the environment a mistake.
EnvValue read_env(const Getenv& getenv, const std::string& name) {
  EnvValue v;
  const std::string file_var = name + "_FILE";
  if (const char* file = getenv(file_var.c_str()); file && *file) {
    v.source = file_var + " " + file;
    try {
      v.value = trim_space(core::read_secret_file(file, v.source));
    } catch (const core::SecretError& e) {
      throw DsnError(e.what());
    }
    if (v.value.empty()) throw DsnError(v.source + ": the file is empty");
  } else if (const char* value = getenv(name.c_str()); value && *value) {
    v.source = name;
    v.value = value;
  } else {
    return v;
  }
  if (v.value.find_first_of("\r\n") != std::string::npos) {
    throw DsnError(v.source + ": holds a line break (a " +
                   (v.source == name ? std::string("value") : std::string("file")) +
                   " of more than one line?); its text is not shown");
  }
  return v;
}

void check_parses(const Dsn& dsn) {
  if (!parse_conninfo(dsn.conninfo)) {
    throw DsnError(dsn.source +
                   ": not a valid libpq connection string or postgresql:// URI (its text is "
                   "not shown: it may hold a password)");
  }
}

}  // namespace

std::string uri_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<Dsn> load_postgres_exporter_dsn(const Getenv& getenv) {
  if (const char* name = getenv("DATA_SOURCE_NAME"); name && *name) {
    Dsn dsn{name, "DATA_SOURCE_NAME"};
    if (dsn.conninfo.find(',') != std::string::npos) {
      throw DsnError(
          "DATA_SOURCE_NAME: holds a comma, which postgres_exporter reads as a list of "
          "several servers; afp_exporter connects to one (run one exporter per server)");
    }
    if (dsn.conninfo.find_first_of("\r\n") != std::string::npos) {
      throw DsnError("DATA_SOURCE_NAME: holds a line break; its text is not shown");
    }
    check_parses(dsn);
    return dsn;
  }
  EnvValue uri = read_env(getenv, "DATA_SOURCE_URI");
  EnvValue user = read_env(getenv, "DATA_SOURCE_USER");
  EnvValue pass = read_env(getenv, "DATA_SOURCE_PASS");
  if (uri.source.empty()) {
    if (user.source.empty() && pass.source.empty()) return std::nullopt;
    throw DsnError((user.source.empty() ? pass.source : user.source) +
                   " is set but neither DATA_SOURCE_URI nor DATA_SOURCE_URI_FILE names the "
                   "server (or set DATA_SOURCE_NAME or AFP_PG_DSN instead)");
  }
  // url.UserPassword(user, pass): "user:pass@", both possibly empty.
  Dsn dsn{"postgresql://" + uri_encode(user.value) + ":" + uri_encode(pass.value) + "@" + uri.value,
          uri.source};
  for (const auto* part : {&user, &pass}) {
    if (!part->source.empty()) dsn.source += " + " + part->source;
  }
  check_parses(dsn);
  return dsn;
}

std::optional<Dsn> load_dsn_from_environment(const Getenv& getenv, const std::string& file_option) {
  if (auto own = load_dsn(getenv("AFP_PG_DSN"), getenv("AFP_PG_DSN_FILE"), file_option)) {
    return own;
  }
  return load_postgres_exporter_dsn(getenv);
}

std::string describe(std::string_view conninfo) {
  auto opts = parse_conninfo(conninfo);
  if (!opts) return "<invalid DSN>";
  auto get = [&](const char* key, const char* fallback) {
    auto it = opts->find(key);
    return it == opts->end() ? std::string(fallback) : it->second;
  };
  return get("user", "<default user>") + "@" + get("host", "<default host>") + ":" +
         get("port", "5432") + "/" + get("dbname", "<default db>");
}

std::string database_origin(std::string_view conninfo, std::string_view dsn_source,
                            const Getenv& getenv) {
  std::string dsn = dsn_source.empty() ? "the DSN" : "the DSN from " + std::string(dsn_source);
  auto opts = parse_conninfo(conninfo);
  if (opts && opts->contains("dbname")) {
    return "dbname in " + dsn + " chose it: name a database that exists there, or create this one";
  }
  if (const char* env = getenv("PGDATABASE"); env && *env) {
    return dsn + " sets no dbname, so libpq took PGDATABASE from the environment: add the " +
           "database to the DSN, or correct PGDATABASE";
  }
  return dsn + " sets no dbname, so libpq took the user name: add the database to the DSN";
}

std::string scrub(std::string text, std::string_view conninfo) {
  auto opts = parse_conninfo(conninfo);
  if (!opts) return text;
  auto it = opts->find("password");
  if (it == opts->end() || it->second.empty()) return text;
  const std::string& password = it->second;
  for (auto pos = text.find(password); pos != std::string::npos; pos = text.find(password, pos)) {
    text.replace(pos, password.size(), "*****");
    pos += 5;
  }
  return text;
}

}  // namespace afp::pg
