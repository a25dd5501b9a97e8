// Secrets that pg_stat_statements stores verbatim (utility statements are not normalised)
// reach neither the query label nor `db report`.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/db.h"
#include "pg/query.h"
#include "pg/source.h"
#include "pg_test_db.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {

const std::string kDatabase = "redaction_test";
constexpr const char* kSecret = "Sekr1t";

// Statements that carry a secret, as a careless admin would run them in psql.
void run_statements_with_secrets() {
  test::AdminSession admin(kDatabase);
  admin.sql("DROP ROLE IF EXISTS redact_probe");
  admin.sql("CREATE ROLE redact_probe PASSWORD 'Sekr1t-create'");
  admin.sql("ALTER ROLE redact_probe PASSWORD 'Sekr1t-alter'");
  admin.sql("SET application_name = 'Sekr1t-set'");
  // Slower than the advisor's 1 s threshold, so `db report` lists it.
  admin.sql("DO $$BEGIN PERFORM pg_sleep(1.05); PERFORM 'Sekr1t-do'::text; END$$");
  admin.sql("DROP ROLE redact_probe");
}

std::string scrape_with_query_text(const std::string& dsn) {
  log::Logger log(log::Level::error);
  pg::Source source(pg::Dsn{dsn, "test"}, pg::SourceOptions{}, log);
  pg::StatementsSettings settings;
  settings.include_query = true;
  settings.limit = 0;
  source.add("pg_stat_statements", pg::make_stat_statements_query(settings));
  auto snapshot = source.snapshot(pg::Clock::now(), pg::Clock::now() + 30s);
  REQUIRE(snapshot->up);
  const auto& part = snapshot->parts.at("pg_stat_statements");
  REQUIRE(part.ok);
  return part.whole_text();
}

std::string db_report(const std::string& dsn, std::vector<std::string> args) {
  ::setenv("AFP_PG_DSN", dsn.c_str(), 1);
  ::unsetenv("AFP_PG_DSN_FILE");
  std::ostringstream out, err;
  int code = cli::run_db(args, out, err);
  ::unsetenv("AFP_PG_DSN");
  INFO("exit " << code << "\n" << out.str() << err.str());
  CHECK(code != 2);
  return out.str() + err.str();
}

}  // namespace

TEST_CASE("redaction: role passwords and DO bodies never leave through a label or db report",
          "[pg][redact]") {
  auto dsn = test::fresh_database(kDatabase);
  test::create_dejavu_schema(test::admin_dsn(kDatabase));
  run_statements_with_secrets();

  auto text = scrape_with_query_text(dsn);
  INFO(text);
  CHECK(text.find(kSecret) == std::string::npos);
  // The statements are there, with their shape: only the literals are gone.
  CHECK(text.find("PASSWORD '***'") != std::string::npos);
  CHECK(text.find("SET application_name = '***'") != std::string::npos);

  for (auto format : {"text", "json"}) {
    auto report = db_report(dsn, {"report", "--format", format});
    INFO(report);
    CHECK(report.find(kSecret) == std::string::npos);
    CHECK(report.find("DO '***'") != std::string::npos);
  }
}
