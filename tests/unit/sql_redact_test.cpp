// No literal of a statement that pg_stat_statements stored verbatim leaves the exporter.
#include "pg/sql_redact.h"

#include <catch2/catch.hpp>
#include <string>

#include "pg/statement_merge.h"

using afp::pg::redact_sql;

namespace {

constexpr const char* kSecret = "Sekr1t";

void expect_redacted(const std::string& sql, const std::string& expected) {
  INFO(sql);
  auto out = redact_sql(sql);
  CHECK(out == expected);
  CHECK(out.find(kSecret) == std::string::npos);
}

}  // namespace

TEST_CASE("redact: role passwords in every form", "[pg][redact]") {
  expect_redacted("ALTER USER postgres PASSWORD 'Sekr1t-1'", "ALTER USER postgres PASSWORD '***'");
  expect_redacted("CREATE ROLE app LOGIN PASSWORD 'Sekr1t' VALID UNTIL 'infinity'",
                  "CREATE ROLE app LOGIN PASSWORD '***' VALID UNTIL '***'");
  expect_redacted("alter role app with encrypted password 'SCRAM-SHA-256$4096:Sekr1t'",
                  "alter role app with encrypted password '***'");
  expect_redacted("CREATE USER u PASSWORD E'Sekr1t\\'s'", "CREATE USER u PASSWORD '***'");
  expect_redacted("ALTER ROLE app PASSWORD NULL", "ALTER ROLE app PASSWORD NULL");
  // Not valid SQL today, but a literal of any kind after PASSWORD never passes.
  expect_redacted("ALTER ROLE app PASSWORD 12345Sekr1t", "ALTER ROLE app PASSWORD '***'");
  expect_redacted("ALTER ROLE app PASSWORD /* c */ \"Sekr1t\"",
                  "ALTER ROLE app PASSWORD /* c */ '***'");
}

TEST_CASE("redact: utility statements keep their shape, lose their literals", "[pg][redact]") {
  expect_redacted("ALTER SYSTEM SET primary_conninfo = 'host=db password=Sekr1t'",
                  "ALTER SYSTEM SET primary_conninfo = '***'");
  expect_redacted("COPY t FROM PROGRAM 'curl -u admin:Sekr1t https://x'",
                  "COPY t FROM PROGRAM '***'");
  expect_redacted("SET app.key = 'Sekr1t'", "SET app.key = '***'");
  expect_redacted("DO $$BEGIN PERFORM set_config('k', 'Sekr1t', false); END$$", "DO '***'");
  expect_redacted("DO $body$ 'Sekr1t' $body$ LANGUAGE plpgsql", "DO '***' LANGUAGE plpgsql");
  expect_redacted("CREATE USER MAPPING FOR app SERVER s OPTIONS (user 'u', password 'Sekr1t')",
                  "CREATE USER MAPPING FOR app SERVER s OPTIONS (user '***', password '***')");
  expect_redacted("SELECT X'5365' || B'0101' || U&'Sekr1t'", "SELECT '***' || '***' || U&'***'");
}

TEST_CASE("redact: normalised statements and names pass unchanged", "[pg][redact]") {
  for (const char* sql :
       {"SELECT password FROM users WHERE id = $1",
        "SELECT upper(encode(\"hash\", $1)) FROM \"fingerprints\" WHERE \"hash\" IN (...)",
        "ALTER ROLE app PASSWORD $1", "SET statement_timeout = 2000", "", "   "}) {
    CHECK(redact_sql(sql) == sql);
  }
}

TEST_CASE("redact: a literal that may end elsewhere takes the rest with it", "[pg][redact]") {
  // Unterminated (a capped text): up to the end.
  expect_redacted("ALTER USER u PASSWORD 'Sekr1t", "ALTER USER u PASSWORD '***'");
  // With standard_conforming_strings off, \' does not end the string: where this one ends is
  // unknowable, so nothing after its opening quote survives.
  expect_redacted("SET a = 'x\\' Sekr1t ', b = 'c'", "SET a = '***'");
  // Comments and quoted names hide nothing: a quote inside them opens no string.
  expect_redacted("SELECT 1 /* it's */ , \"a'b\" , 'Sekr1t'",
                  "SELECT 1 /* it's */ , \"a'b\" , '***'");
}

TEST_CASE("redact: the query label of pg_stat_statements_query_id", "[pg][redact][statements]") {
  afp::pg::StatementMerger merger;
  std::string sql = "ALTER USER postgres PASSWORD 'Sekr1t-very-long-" + std::string(200, 'x') + "'";
  std::string_view view = sql;
  merger.add_text(42, &view);
  std::vector<afp::pg::StatementRow> rows{{{42, 1, 10, true}, {1, 1, 0, 0, 0}, "db", "u"}};
  merger.update(rows, afp::pg::StatementMerger::Clock::now());
  auto top = merger.top(0, 0);
  REQUIRE(top.size() == 1);
  CHECK(top[0]->query() == "ALTER USER postgres PASSWORD '***'");
}
