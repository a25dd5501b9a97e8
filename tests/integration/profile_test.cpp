// `profile --mode database` against a Dejavu-schema database of 200,000 fingerprints on the
// test cluster, driven through run_profile as the command line would: the look-up plan with
// and without the hash index, and the errors that stop a run.
#include "cli/profile.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "pg_test_db.h"

using namespace afp;
using json = nlohmann::json;

namespace {

const std::string kDatabase = "profile_test";

// Sets AFP_PG_DSN (or unsets it) and unsets AFP_PG_DSN_FILE for its scope.
class DsnEnv {
 public:
  explicit DsnEnv(const std::optional<std::string>& dsn) {
    for (const char* name : {"AFP_PG_DSN", "AFP_PG_DSN_FILE"}) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name);
    }
    if (dsn) ::setenv("AFP_PG_DSN", dsn->c_str(), 1);
  }
  ~DsnEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  DsnEnv(const DsnEnv&) = delete;
  DsnEnv& operator=(const DsnEnv&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

struct Run {
  int code;
  std::string out, err;
};

Run profile(std::vector<std::string> args, const std::string& dsn) {
  DsnEnv env(dsn);
  args.insert(args.begin(), {"--mode", "database"});
  std::ostringstream out, err;
  int code = cli::run_profile(args, out, err);
  Run r{code, out.str(), err.str()};
  UNSCOPED_INFO("profile exit " << code << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
  return r;
}

// The database section of a JSON report written by --output.
struct Report {
  Run run;
  json doc, section;
};

Report json_report(const std::string& dsn, std::vector<std::string> args = {}) {
  std::string path = "/tmp/afp_profile_test_" + std::to_string(::getpid()) + ".json";
  args.insert(args.end(), {"--iterations", "5", "--output", path});
  Report r{profile(args, dsn), {}, {}};
  REQUIRE(r.run.code != 2);
  std::ifstream in(path);
  r.doc = json::parse(in);
  ::unlink(path.c_str());
  REQUIRE(r.doc["sections"].size() == 1);
  r.section = r.doc["sections"][0];
  UNSCOPED_INFO("report:\n" << r.doc.dump(2));
  return r;
}

bool any_contains(const json& texts, const std::string& part) {
  for (const auto& t : texts) {
    if (t.get<std::string>().find(part) != std::string::npos) return true;
  }
  return false;
}

// A fresh profile_test database: Dejavu's schema with its hash index, 200 songs × 1000
// hashes, analyzed, created by the superuser. The exporter's role gets SELECT on the tables,
// as a read-only role for profiling would: the look-up reads them.
std::string fresh_dejavu(bool grant = true) {
  auto dsn = test::fresh_database(kDatabase);
  test::load_dejavu(kDatabase, 200, 1000);
  if (grant) test::admin_sql("GRANT SELECT ON fingerprints, songs TO afp", kDatabase);
  return dsn;
}

}  // namespace

TEST_CASE("profile database: the hash index serves the look-ups", "[profile]") {
  auto dsn = fresh_dejavu();
  auto r = json_report(dsn);
  CHECK(r.run.err.empty());
  CHECK(r.doc["mode"] == "database");
  const auto& s = r.section;
  CHECK(s["name"] == "database");
  CHECK(s["target"].get<std::string>().find("/" + kDatabase) != std::string::npos);
  CHECK(s["what"] == "5 look-ups of 1000 random hashes in fingerprints");
  CHECK(s["iterations"] == 5);
  CHECK(s["failed"] == 0);
  const auto& lookup = s["measures"][0];
  CHECK(lookup["id"] == "db_lookup");
  CHECK(lookup["count"] == 5);
  CHECK(lookup["requirement"]["name"] == "db_query_p95");
  const auto& plan = s["checks"][0];
  CHECK(plan["id"] == "lookup_plan");
  CHECK(plan["result"] == "pass");
  CHECK(plan["value"].get<std::string>().find("Seq Scan") == std::string::npos);
  CHECK(plan["value"].get<std::string>().find("ix_fingerprints_hash") != std::string::npos);
  CHECK_FALSE(any_contains(s["recommendations"], "CREATE INDEX"));
  // Whatever this machine's speed, the exit code follows the verdicts.
  CHECK(r.run.code == (lookup["result"] == "pass" ? 0 : 1));
}

TEST_CASE("profile database: without the hash index the sequential scan is flagged", "[profile]") {
  auto dsn = fresh_dejavu();
  test::admin_sql("DROP INDEX ix_fingerprints_hash", kDatabase);

  SECTION("text") {
    auto r = profile({"--iterations", "3"}, dsn);
    CHECK(r.code == 1);
    CHECK(r.err.empty());
    CHECK(r.out.find("\n  look-up plan  ") != std::string::npos);
    CHECK(r.out.find("Seq Scan on fingerprints (") != std::string::npos);
    CHECK(r.out.find("FAIL (no index serves look-ups)\n") != std::string::npos);
    CHECK(r.out.find("\nrecommendations:\n  - database: no index serves the look-ups: each "
                     "look-up reads the whole table") != std::string::npos);
  }
  SECTION("JSON: the advisor's CREATE INDEX") {
    auto r = json_report(dsn);
    CHECK(r.run.code == 1);
    const auto& plan = r.section["checks"][0];
    CHECK(plan["result"] == "fail");
    CHECK(plan["value"].get<std::string>().find("Seq Scan on fingerprints (") != std::string::npos);
    CHECK(any_contains(r.section["recommendations"],
                       "create Dejavu's hash index: CREATE INDEX CONCURRENTLY ix_fingerprints_hash "
                       "ON fingerprints USING hash (hash);"));
  }
  SECTION("creating the index it recommends clears the finding") {
    test::admin_sql(
        "CREATE INDEX CONCURRENTLY ix_fingerprints_hash ON fingerprints USING hash (hash)",
        kDatabase);
    auto r = json_report(dsn);
    CHECK(r.section["checks"][0]["result"] == "pass");
    CHECK_FALSE(any_contains(r.section["recommendations"], "CREATE INDEX"));
  }
}

TEST_CASE("profile database: what stops a run is one line, exit 2", "[profile]") {
  SECTION("a role that may not read the table") {
    auto dsn = fresh_dejavu(/*grant=*/false);
    auto r = profile({"--iterations", "3"}, dsn);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err ==
          "profile: cannot run the look-up on fingerprints: ERROR: permission denied for table "
          "fingerprints\n");
  }
  SECTION("no such table") {
    auto dsn = fresh_dejavu();
    auto r = profile({"--fingerprint-table", "no_such_table"}, dsn);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("profile: ", 0) == 0);
    CHECK(r.err.find("no_such_table") != std::string::npos);
  }
  SECTION("a refused connection, the password never printed") {
    auto dsn = std::regex_replace(test::cluster_file("dsn"), std::regex(":[0-9]+/"), ":1/");
    std::smatch m;
    REQUIRE(std::regex_search(dsn, m, std::regex("://[^:]+:([^@]+)@")));
    std::string password = m[1];
    auto r = profile({}, dsn);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.rfind("profile: cannot connect to afp@127.0.0.1:1/fingerprints (DSN from "
                      "AFP_PG_DSN): ",
                      0) == 0);
    CHECK(r.err.find(password) == std::string::npos);
  }
}
