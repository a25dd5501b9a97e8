#pragma once

// Runs `afp_exporter db` in-process, as the command line would, for the integration tests
// of the advisor: the DSN through the environment, the output captured, the JSON report
// parsed.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/db.h"

namespace afp::test {

// Sets AFP_PG_DSN (or unsets it) and unsets AFP_PG_DSN_FILE for its scope.
class DsnEnv {
 public:
  explicit DsnEnv(const std::optional<std::string>& dsn) {
    save("AFP_PG_DSN", saved_dsn_);
    save("AFP_PG_DSN_FILE", saved_file_);
    ::unsetenv("AFP_PG_DSN_FILE");
    if (dsn) {
      ::setenv("AFP_PG_DSN", dsn->c_str(), 1);
    } else {
      ::unsetenv("AFP_PG_DSN");
    }
  }
  ~DsnEnv() {
    restore("AFP_PG_DSN", saved_dsn_);
    restore("AFP_PG_DSN_FILE", saved_file_);
  }
  DsnEnv(const DsnEnv&) = delete;
  DsnEnv& operator=(const DsnEnv&) = delete;

 private:
  static void save(const char* name, std::optional<std::string>& into) {
    if (const char* v = std::getenv(name)) into = v;
  }
  static void restore(const char* name, const std::optional<std::string>& value) {
    if (value) {
      ::setenv(name, value->c_str(), 1);
    } else {
      ::unsetenv(name);
    }
  }
  std::optional<std::string> saved_dsn_, saved_file_;
};

struct Run {
  int code;
  std::string out, err;
};

// Runs `db` (args: the verb, then its flags) with the scans watched for 1 s unless args say
// --window: only the tests of the scan findings need a longer window, and every run waits for it.
inline Run db(std::vector<std::string> args, const std::optional<std::string>& dsn) {
  if (std::find(args.begin(), args.end(), "--window") == args.end()) {
    args.insert(args.end(), {"--window", "1s"});
  }
  DsnEnv env(dsn);
  std::ostringstream out, err;
  int code = cli::run_db(args, out, err);
  Run r{code, out.str(), err.str()};
  UNSCOPED_INFO("db " << args.at(0) << " exit " << code << "\nstdout:\n"
                      << r.out << "stderr:\n"
                      << r.err);
  return r;
}

struct Report {
  int code;
  nlohmann::json doc;
};

// `db report --format json`, which must not fail.
inline Report report(const std::string& dsn, const std::string& window = "1s") {
  auto r = db({"report", "--format", "json", "--window", window}, dsn);
  REQUIRE(r.code != 2);
  REQUIRE(r.err.empty());
  return {r.code, nlohmann::json::parse(r.out)};
}

inline std::vector<nlohmann::json> findings(const Report& r, const std::string& id) {
  std::vector<nlohmann::json> out;
  for (const auto& f : r.doc.at("findings")) {
    if (f.at("id") == id) out.push_back(f);
  }
  return out;
}

// How many findings are above info.
inline int serious(const Report& r) {
  int n = 0;
  for (const auto& f : r.doc.at("findings"))
    n += f.at("severity") == "info" ? 0 : 1;
  return n;
}

}  // namespace afp::test
