// Connection::query_rows against the test cluster: rows read one at a time are the rows of
// the whole result, and a statement that fails midway fails as query() does.
#include <catch2/catch.hpp>
#include <future>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "pg/query.h"
#include "pg/source.h"
#include "pg_test_db.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {

// 3,000 rows of a number, a text and a NULL every seventh row.
constexpr const char* kRows =
    "SELECT g, repeat('x', g % 50), CASE WHEN g % 7 = 0 THEN NULL ELSE g * 2 END "
    "FROM generate_series(1, 3000) g";

using Row = std::vector<std::string>;  // "<null>" for NULL

std::vector<Row> whole(pg::Connection& conn, const std::string& sql) {
  auto r = conn.query(sql, pg::Clock::now() + 30s);
  std::vector<Row> rows;
  for (int i = 0; i < r.rows(); ++i) {
    Row row;
    for (int c = 0; c < r.columns(); ++c)
      row.emplace_back(r.is_null(i, c) ? "<null>" : std::string(r.value(i, c)));
    rows.push_back(row);
  }
  return rows;
}

std::vector<Row> one_by_one(pg::Connection& conn, const std::string& sql, int columns) {
  std::vector<Row> rows;
  conn.query_rows(sql, pg::Clock::now() + 30s, [&](const pg::RowView& view) {
    Row row;
    for (int c = 0; c < columns; ++c)
      row.emplace_back(view.is_null(c) ? "<null>" : std::string(view.value(c)));
    rows.push_back(row);
  });
  return rows;
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const pg::PgError& e) {
    return e.what();
  }
  return "(no error)";
}

struct Session {
  log::Logger log{log::Level::error};
  pg::Connection conn{test::admin_dsn("fingerprints"), {}, log};
};

}  // namespace

TEST_CASE("pg: rows read one at a time are the rows of the whole result", "[pg][rows]") {
  Session s;
  auto expected = whole(s.conn, kRows);
  REQUIRE(expected.size() == 3000);
  CHECK(one_by_one(s.conn, kRows, 3) == expected);
  CHECK(one_by_one(s.conn, "SELECT 1 WHERE false", 1).empty());
}

TEST_CASE("pg: an SQL error after some rows is query()'s error and keeps the connection",
          "[pg][rows]") {
  Session s;
  const std::string failing = "SELECT 1 / (g - 2500) FROM generate_series(1, 3000) g";
  auto expected = error_of([&] { s.conn.query(failing, pg::Clock::now() + 30s); });
  CHECK_THAT(expected, Catch::Contains("division by zero"));
  int seen = 0;
  CHECK(error_of([&] {
          s.conn.query_rows(failing, pg::Clock::now() + 30s, [&](const pg::RowView&) { ++seen; });
        }) == expected);
  CHECK(seen < 2500);
  CHECK(s.conn.connected());
  CHECK(whole(s.conn, "SELECT 1") == std::vector<Row>{{"1"}});
}

TEST_CASE("pg: a connection lost midway through the rows is query()'s error", "[pg][rows]") {
  // The session's own backend ends itself at the 2,000th row.
  const std::string dying =
      "SELECT g, CASE WHEN g = 2000 THEN pg_terminate_backend(pg_backend_pid()) END "
      "FROM generate_series(1, 3000) g";
  Session whole_session;
  auto expected = error_of([&] { whole_session.conn.query(dying, pg::Clock::now() + 30s); });
  CHECK_THAT(expected, Catch::Contains("terminat"));
  CHECK_FALSE(whole_session.conn.connected());

  Session rows_session;
  CHECK(error_of([&] {
          rows_session.conn.query_rows(dying, pg::Clock::now() + 30s, [](const pg::RowView&) {});
        }) == expected);
  CHECK_FALSE(rows_session.conn.connected());
}

TEST_CASE(
    "pg: an exception from the row callback comes out after the statement, keeping the "
    "connection",
    "[pg][rows]") {
  Session s;
  int seen = 0;
  CHECK_THROWS_WITH(s.conn.query_rows(kRows, pg::Clock::now() + 30s,
                                      [&](const pg::RowView&) {
                                        if (++seen == 10) throw std::runtime_error("enough");
                                      }),
                    "enough");
  CHECK(seen == 10);
  CHECK(s.conn.connected());
  CHECK(whole(s.conn, "SELECT 2") == std::vector<Row>{{"2"}});
}

TEST_CASE("pg_stat_statements: a connection lost while the counters are read exports nothing",
          "[pg][rows][statements]") {
  const std::string database = "rows_statements_test";
  auto dsn = test::fresh_database(database);
  log::Logger log(log::Level::error);
  pg::Source source(pg::Dsn{dsn, "test"}, pg::SourceOptions{}, log);
  pg::StatementsSettings settings;
  settings.limit = 0;
  settings.min_calls = 0;
  source.add("pg_stat_statements", pg::make_stat_statements_query(settings));
  auto scrape = [&] {
    auto snapshot = source.snapshot(pg::Clock::now(), pg::Clock::now() + 30s);
    return snapshot->parts.at("pg_stat_statements");
  };
  auto first = scrape();
  INFO(first.error);
  REQUIRE(first.ok);
  CHECK_THAT(first.whole_text(), Catch::Contains("pg_stat_statements_calls_total{"));

  // The counters query reads pg_database: it waits behind this lock, and its session is
  // ended while it waits.
  test::AdminSession admin(database);
  admin.sql("BEGIN");
  admin.sql("LOCK TABLE pg_database IN ACCESS EXCLUSIVE MODE");
  auto lost = std::async(std::launch::async, scrape);
  bool terminated = false;
  for (int i = 0; i < 300 && !terminated; ++i) {
    admin.sql("SELECT pg_stat_clear_snapshot()");
    terminated = admin.exists(
        "SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" +
        database + "' AND usename = 'afp' AND wait_event_type = 'Lock'");
    if (!terminated) std::this_thread::sleep_for(10ms);
  }
  admin.sql("COMMIT");
  REQUIRE(terminated);
  auto part = lost.get();
  CHECK_FALSE(part.ok);
  CHECK_THAT(part.error, Catch::Contains("terminat"));
  CHECK(part.whole_text().empty());

  // Connected again after the backoff, the collector is whole again.
  std::this_thread::sleep_for(1100ms);
  auto again = scrape();
  INFO(again.error);
  CHECK(again.ok);
  CHECK_THAT(again.whole_text(), Catch::Contains("pg_stat_statements_calls_total{"));
  CHECK_THAT(again.whole_text(), Catch::Contains("afp_exporter_pg_statements_remembered{"));
}
