#include "pg/dsn.h"

#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "pg/libpq.h"

namespace afp::pg {

namespace {

using Options = std::map<std::string, std::string, std::less<>>;

// The parsed options that are set; nullopt when libpq cannot parse the string.
std::optional<Options> parse(std::string_view conninfo) {
  char* err = nullptr;
  const Libpq& pq = libpq();
  std::unique_ptr<PQconninfoOption, decltype(pq.PQconninfoFree)> opts(
      pq.PQconninfoParse(std::string(conninfo).c_str(), &err), pq.PQconninfoFree);
  if (err) pq.PQfreemem(err);  // may quote the input, so it is never shown
  if (!opts) return std::nullopt;
  Options out;
  for (auto* o = opts.get(); o->keyword; ++o) {
    if (o->val && *o->val) out.emplace(o->keyword, o->val);
  }
  return out;
}

std::string read_secret_file(const std::string& path, const std::string& source) {
  std::ifstream in(path);
  if (!in) throw DsnError(source + ": cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  if (text.empty()) throw DsnError(source + ": the file is empty");
  return text;
}

}  // namespace

std::optional<Dsn> load_dsn(const char* env_dsn, const char* env_file,
                            const std::string& file_option) {
  Dsn dsn;
  if (env_dsn && *env_dsn) {
    dsn = {env_dsn, "AFP_PG_DSN"};
  } else if (env_file && *env_file) {
    dsn.source = std::string("AFP_PG_DSN_FILE ") + env_file;
    dsn.conninfo = read_secret_file(env_file, dsn.source);
  } else if (!file_option.empty()) {
    dsn.source = "pg.dsn-file " + file_option;
    dsn.conninfo = read_secret_file(file_option, dsn.source);
  } else {
    return std::nullopt;
  }
  if (!parse(dsn.conninfo)) {
    throw DsnError(dsn.source +
                   ": not a valid libpq connection string or postgresql:// URI (its text is "
                   "not shown: it may hold a password)");
  }
  return dsn;
}

std::string describe(std::string_view conninfo) {
  auto opts = parse(conninfo);
  if (!opts) return "<invalid DSN>";
  auto get = [&](const char* key, const char* fallback) {
    auto it = opts->find(key);
    return it == opts->end() ? std::string(fallback) : it->second;
  };
  return get("user", "<default user>") + "@" + get("host", "<default host>") + ":" +
         get("port", "5432") + "/" + get("dbname", "<default db>");
}

std::string scrub(std::string text, std::string_view conninfo) {
  auto opts = parse(conninfo);
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
