// --pg.statements.exclude-users against the test cluster: the statements a left-out role
// ran (the demo's fault injection, maintenance jobs) reach neither the scrape nor
// `db report`, while the app's still do.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "db_cli.h"
#include "pg/query.h"
#include "pg/source.h"
#include "pg_test_db.h"

using namespace afp;
using namespace afp::test;
using namespace std::chrono_literals;

namespace {

const std::string kDatabase = "excluded_roles_test";
// Roles belong to the cluster, not to a database: created once, kept.
constexpr const char* kCreateRole =
    "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'afp_faults') THEN "
    "CREATE ROLE afp_faults NOLOGIN; END IF; END $$";
// Slower than the advisor's 1 s threshold, so `db report` lists both; different statements,
// so that neither hides behind the other's queryid.
constexpr const char* kAppStatement = "SELECT count(*) FROM (SELECT pg_sleep(1.1)) AS app_lookup";
constexpr const char* kFaultStatement = "SELECT pg_sleep(1.1)";

// The app's statement as the superuser, the fault's as afp_faults (SET ROLE: the server
// records the role that runs a statement, whoever logged in).
void run_statements() {
  AdminSession admin(kDatabase);
  admin.sql(kCreateRole);
  admin.reset_statements();
  admin.sql(kAppStatement);
  admin.sql("SET ROLE afp_faults");
  admin.sql(kFaultStatement);
  admin.sql("RESET ROLE");
}

std::string scrape(const std::string& dsn, const std::vector<std::string>& exclude_users) {
  static log::Logger log(log::Level::error);
  pg::StatementsSettings settings;
  settings.limit = 0;
  settings.include_query = true;
  settings.exclude_users = exclude_users;
  pg::Source source(pg::Dsn{dsn, "test"}, pg::SourceOptions{}, log);
  source.add("pg_stat_statements", pg::make_stat_statements_query(settings));
  auto snapshot = source.snapshot(pg::Clock::now(), pg::Clock::now() + 30s);
  REQUIRE(snapshot->up);
  auto part = snapshot->parts.at("pg_stat_statements");
  INFO(part.error);
  REQUIRE(part.ok);
  return part.whole_text();
}

std::vector<std::string> slow_queries(const std::string& dsn, std::vector<std::string> flags) {
  std::vector<std::string> args{"report", "--format", "json"};
  args.insert(args.end(), flags.begin(), flags.end());
  auto run = db(args, dsn);
  REQUIRE(run.err.empty());
  const auto doc = nlohmann::json::parse(run.out);  // outlives the loop over its findings
  std::vector<std::string> out;
  for (const auto& f : doc.at("findings")) {
    if (f.at("id") == "slow_statement") out.push_back(f.at("evidence").at("query"));
  }
  return out;
}

bool has(const std::vector<std::string>& queries, const std::string& prefix) {
  for (const auto& q : queries) {
    if (q.starts_with(prefix)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("excluded roles: their statements are not scraped, the app's are", "[pg][statements]") {
  auto dsn = fresh_database(kDatabase);
  run_statements();

  auto all = scrape(dsn, {});
  INFO(all);
  REQUIRE_THAT(all, Catch::Contains("user=\"afp_faults\""));  // the control: it is recorded

  auto text = scrape(dsn, {"afp_faults", "no_such_role"});
  INFO(text);
  CHECK_THAT(text, !Catch::Contains("user=\"afp_faults\""));
  CHECK_THAT(text, !Catch::Contains("query=\"SELECT pg_sleep($1)\""));
  CHECK_THAT(text, Catch::Contains("user=\"postgres\"") &&
                       Catch::Contains("SELECT count(*) FROM (SELECT pg_sleep($1)) AS app_lookup"));
}

TEST_CASE("excluded roles: db report leaves their slow statements out", "[pg][statements]") {
  auto dsn = fresh_database(kDatabase);
  create_dejavu_schema(admin_dsn(kDatabase));
  run_statements();

  auto all = slow_queries(dsn, {});
  REQUIRE(has(all, "SELECT pg_sleep($1)"));  // the control
  REQUIRE(has(all, "SELECT count(*) FROM (SELECT pg_sleep($1))"));

  auto app = slow_queries(dsn, {"--pg.statements.exclude-users", "afp_faults"});
  CHECK_FALSE(has(app, "SELECT pg_sleep($1)"));
  CHECK(has(app, "SELECT count(*) FROM (SELECT pg_sleep($1))"));

  auto bad = db({"report", "--pg.statements.exclude-users", "afp_faults,,x"}, dsn);
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("--pg.statements.exclude-users") &&
                          Catch::Contains("empty role name"));
}
