#include "pg/dsn.h"

#include <memory>

#include "config/secret.h"
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
  std::optional<config::Secret> secret;
  try {
    secret = config::load_secret({"AFP_PG_DSN", env_dsn, env_file, "pg.dsn-file", file_option});
  } catch (const config::SecretError& e) {
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
