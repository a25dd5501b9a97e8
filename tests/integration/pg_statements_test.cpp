// The pg_stat_statements collector against the test cluster: Dejavu's look-ups with many
// IN-list lengths are one series, values match the view, texts are read once, resets
// keep counters monotonic, and a missing extension says how to fix it.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "metrics/text_parser.h"
#include "metrics/text_writer.h"
#include "pg/query.h"
#include "pg/source.h"
#include "pg/sql_canonical.h"
#include "pg_test_db.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {

constexpr const char* kDatabase = "statements_test";

struct Db {
  std::string dsn;
  log::Logger log{log::Level::error};
  pg::Connection conn;
  std::vector<std::string> hashes;  // hex, of rows that exist

  explicit Db(const std::string& database)
      : dsn(test::fresh_database(database)), conn(dsn, {}, log) {
    test::create_dejavu_schema(dsn);
    sql(test::dejavu_data_sql(20, 100));
    auto r = sql("SELECT encode(hash, 'hex') FROM fingerprints ORDER BY song_id, \"offset\"");
    for (int i = 0; i < r.rows(); ++i)
      hashes.emplace_back(r.value(i, 0));
  }

  pg::Result sql(const std::string& text) { return conn.query(text, pg::Clock::now() + 60s); }

  // Dejavu's look-up of the first n hashes; returns the rows it found.
  int lookup(int n) {
    std::string text =
        "SELECT upper(encode(hash, 'hex')), song_id, \"offset\" FROM fingerprints WHERE hash IN (";
    for (int i = 0; i < n; ++i) {
      if (i) text += ", ";
      text += "decode('" + hashes.at(static_cast<std::size_t>(i)) + "', 'hex')";
    }
    return sql(text + ")").rows();
  }
};

std::unique_ptr<pg::Source> source(const std::string& dsn, pg::StatementsSettings settings = {}) {
  static log::Logger log(log::Level::error);
  auto s = std::make_unique<pg::Source>(pg::Dsn{dsn, "test"}, pg::SourceOptions{}, log);
  s->add("pg_stat_statements", pg::make_stat_statements_query(settings));
  return s;
}

pg::Part scrape(pg::Source& s) {
  auto snapshot = s.snapshot(pg::Clock::now(), pg::Clock::now() + 30s);
  REQUIRE(snapshot->up);
  return snapshot->parts.at("pg_stat_statements");
}

std::string text_of(pg::Source& s) {
  auto part = scrape(s);
  REQUIRE(part.ok);
  return part.whole_text();
}

// The value of one series in exposition text; NaN when it is not there.
double value(const std::string& text, const std::string& series) {
  auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return std::nan("");
  return std::strtod(text.c_str() + at + 1 + series.size() + 1, nullptr);
}

std::string series(const char* metric, const std::string& queryid) {
  return std::string(metric) + "{datname=\"" + kDatabase + "\",user=\"afp\",queryid=\"" + queryid +
         "\"}";
}

int count_lines(const std::string& text, const std::string& prefix) {
  int n = 0;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(prefix)) ++n;
  }
  return n;
}

// The documented queryid label of the merged look-ups: the canonical text's hash.
std::string lookup_label(Db& db) {
  auto r = db.sql(
      "SELECT query FROM pg_stat_statements WHERE query LIKE '%FROM fingerprints WHERE hash IN%' "
      "AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) LIMIT 1");
  REQUIRE(r.rows() == 1);
  return std::to_string(static_cast<std::int64_t>(pg::canonicalize(r.value(0, 0)).hash));
}

}  // namespace

TEST_CASE("pg_stat_statements: 30 IN-list lengths are one series counting every look-up",
          "[pg][statements]") {
  Db db(kDatabase);
  int lookups = 0;
  int rows = 0;
  for (int n = 1; n <= 30; ++n) {
    rows += db.lookup(n);
    ++lookups;
  }
  for (int again = 0; again < 2; ++again) {
    for (int n = 1; n <= 5; ++n) {
      rows += db.lookup(n);
      ++lookups;
    }
  }
  REQUIRE(rows == 495);  // every hash found once
  for (int i = 0; i < 7; ++i)
    db.sql("SELECT count(*) FROM songs WHERE total_hashes > 5");

  auto view = db.sql(
      "SELECT count(DISTINCT queryid), sum(calls), sum(rows) FROM pg_stat_statements WHERE query "
      "LIKE '%FROM fingerprints WHERE hash IN%' AND dbid = (SELECT oid FROM pg_database WHERE "
      "datname = current_database())");
  REQUIRE(view.value(0, 0) == "30");  // one queryid per list length in the view
  REQUIRE(view.value(0, 1) == std::to_string(lookups));

  pg::StatementsSettings settings;
  settings.include_query = true;
  settings.limit = 0;
  auto s = source(db.dsn, settings);
  auto part = scrape(*s);
  INFO(part.error);
  REQUIRE(part.ok);
  const std::string& text = part.whole_text();
  INFO(text);

  auto label = lookup_label(db);
  CHECK(value(text, series("pg_stat_statements_calls_total", label)) == lookups);
  CHECK(value(text, series("pg_stat_statements_rows_total", label)) == rows);
  CHECK(count_lines(text, "pg_stat_statements_calls_total{datname=\"statements_test\"") ==
        count_lines(text, "pg_stat_statements_seconds_total{datname=\"statements_test\""));
  // Exactly one series for the look-ups, with its canonical text.
  CHECK(count_lines(text, "pg_stat_statements_query_id{queryid=\"" + label + "\",") == 1);
  CHECK_THAT(text, Catch::Contains("pg_stat_statements_query_id{queryid=\"" + label +
                                   "\",query=\"SELECT upper(encode(hash, $1)), song_id, "
                                   "\\\"offset\\\" FROM fingerprints WHERE hash IN (...)\"} 1\n"));
  CHECK(count_lines(text, "pg_stat_statements_query_id{queryid=\"") -
            count_lines(text, "pg_stat_statements_query_id{queryid=\"" + label + "\"") ==
        count_lines(text, "pg_stat_statements_calls_total{") - 1);
  CHECK(text.find("decode($") == std::string::npos);
  // Rendered from data as it is sent, every series is named and labelled as TextWriter's
  // sample() writes its parsed form (the query texts' escapes included).
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.empty() || line.starts_with('#')) continue;
    auto parsed = metrics::parse_text(line + "\n");
    REQUIRE(parsed.size() == 1);
    std::vector<metrics::LabelRef> labels;
    for (const auto& [name, label_value] : parsed[0].labels)
      labels.push_back({name, label_value});
    std::string again;
    metrics::TextWriter writer(again);
    writer.family(parsed[0].name, "", metrics::MetricType::Gauge);
    again.clear();
    writer.sample("", labels, parsed[0].value);
    CHECK(again.substr(0, again.rfind(' ')) == line.substr(0, line.rfind(' ')));
  }

  // A statement without a list: exactly the view's values, under its own queryid.
  auto count = db.sql(
      "SELECT queryid, calls, rows, total_exec_time, blk_read_time FROM pg_stat_statements WHERE "
      "query LIKE 'SELECT count(*) FROM songs%' AND dbid = (SELECT oid FROM pg_database WHERE "
      "datname = current_database())");
  REQUIRE(count.rows() == 1);
  std::string qid(count.value(0, 0));
  CHECK(value(text, series("pg_stat_statements_calls_total", qid)) == 7);
  CHECK(value(text, series("pg_stat_statements_rows_total", qid)) == 7);
  CHECK(value(text, series("pg_stat_statements_seconds_total", qid)) ==
        Approx(std::stod(std::string(count.value(0, 3))) / 1000).epsilon(1e-12));
  CHECK(value(text, series("pg_stat_statements_block_read_seconds_total", qid)) ==
        Approx(std::stod(std::string(count.value(0, 4))) / 1000).margin(1e-12));
  CHECK_THAT(text, Catch::Contains("pg_stat_statements_query_id{queryid=\"" + qid +
                                   "\",query=\"SELECT count(*) FROM songs WHERE total_hashes > "
                                   "$1\"} 1\n"));

  // Texts are read only for new statements: the first scrape read them all; the second
  // reads the exporter's own statements of the first (and this test's); then a scrape
  // without new statements reads none, and one after a new list length reads once.
  auto text_reads = [&] {
    auto r = db.sql(
        "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements WHERE query LIKE "
        "'SELECT s.queryid, s.query FROM %' AND dbid = (SELECT oid FROM pg_database WHERE "
        "datname = current_database())");
    return std::stoi(std::string(r.value(0, 0)));
  };
  CHECK(text_reads() == 1);
  REQUIRE(scrape(*s).ok);
  int reads = text_reads();
  CHECK(reads == 2);
  REQUIRE(scrape(*s).ok);
  CHECK(text_reads() == reads);
  db.lookup(31);
  auto after = scrape(*s);
  REQUIRE(after.ok);
  CHECK(text_reads() == reads + 1);
  CHECK(value(after.whole_text(), series("pg_stat_statements_calls_total", label)) == lookups + 1);

  // Only this database unless asked for all.
  test::admin_sql("SELECT 'statements_test other database'", "postgres");
  CHECK(text_of(*s).find("datname=\"postgres\"") == std::string::npos);
  pg::StatementsSettings all;
  all.all_databases = true;
  auto everywhere = source(db.dsn, all);
  auto e = scrape(*everywhere);
  REQUIRE(e.ok);
  CHECK_THAT(e.whole_text(), Catch::Contains("{datname=\"postgres\",user=\"postgres\",queryid=\""));
  CHECK(value(e.whole_text(), series("pg_stat_statements_calls_total", label)) == lookups + 1);

  // Defaults: no query texts; limit and min-calls apply after merging.
  auto plain = source(db.dsn);
  auto p = scrape(*plain);
  REQUIRE(p.ok);
  CHECK(p.whole_text().find("pg_stat_statements_query_id") == std::string::npos);
  CHECK(value(p.whole_text(), series("pg_stat_statements_calls_total", label)) == lookups + 1);
  pg::StatementsSettings one;
  one.limit = 1;
  auto top1 = source(db.dsn, one);
  CHECK(count_lines(scrape(*top1).whole_text(), "pg_stat_statements_calls_total{") == 1);
  pg::StatementsSettings busy;
  busy.min_calls = lookups + 1;
  auto few = source(db.dsn, busy);
  auto f = scrape(*few);
  CHECK(value(f.whole_text(), series("pg_stat_statements_calls_total", label)) == lookups + 1);
  CHECK(std::isnan(value(f.whole_text(), series("pg_stat_statements_calls_total", qid))));
}

TEST_CASE("pg_stat_statements: resets and evictions keep merged counters monotonic",
          "[pg][statements]") {
  Db db(kDatabase);
  for (int round = 0; round < 3; ++round) {
    for (int n = 1; n <= 10; ++n)
      db.lookup(n);
  }
  auto label = lookup_label(db);
  auto s = source(db.dsn);
  auto calls = [&] {
    auto part = scrape(*s);
    INFO(part.error);
    REQUIRE(part.ok);
    return value(part.whole_text(), series("pg_stat_statements_calls_total", label));
  };
  CHECK(calls() == 30);

  // A full reset, and look-ups again before the next scrape.
  test::admin_sql("SELECT pg_stat_statements_reset()", kDatabase);
  db.lookup(1);
  db.lookup(2);
  CHECK(calls() == 32);
  db.lookup(3);
  CHECK(calls() == 33);

  // One member evicted (reset alone): its calls keep counting; back, it adds up again.
  test::admin_sql(
      "SELECT pg_stat_statements_reset(0, 0, queryid) FROM pg_stat_statements WHERE query LIKE "
      "'%WHERE hash IN (decode($2, $3), decode($4, $5), decode($6, $7))' AND dbid = (SELECT oid "
      "FROM pg_database WHERE datname = current_database())",
      kDatabase);
  CHECK(calls() == 33);
  db.lookup(3);
  CHECK(calls() == 34);

  // A full reset with a scrape in between: the series is gone meanwhile, nothing is lost.
  test::admin_sql("SELECT pg_stat_statements_reset()", kDatabase);
  CHECK(std::isnan(calls()));
  db.lookup(7);
  CHECK(calls() == 35);
}

TEST_CASE("pg_stat_statements: a database without the extension is one clear error",
          "[pg][statements]") {
  const std::string database = "statements_noext_test";
  auto dsn = test::fresh_database(database);
  test::admin_sql("DROP EXTENSION pg_stat_statements", database);
  auto s = source(dsn);
  auto part = scrape(*s);
  CHECK_FALSE(part.ok);
  // The test cluster preloads the library: only CREATE EXTENSION is missing.
  const std::string missing =
      "pg_stat_statements is not installed in database \"statements_noext_test\": run CREATE "
      "EXTENSION pg_stat_statements; in that database as a superuser";
  CHECK(part.error == missing);
  CHECK(part.whole_text().empty());
  // Fixed while the exporter runs: the next scrape works.
  test::admin_sql("CREATE EXTENSION pg_stat_statements", database);
  auto fixed = scrape(*s);
  INFO(fixed.error);
  CHECK(fixed.ok);
  CHECK_THAT(fixed.whole_text(),
             Catch::Contains("# TYPE pg_stat_statements_calls_total counter\n"));
  // Dropped while it runs: the same message.
  test::admin_sql("DROP EXTENSION pg_stat_statements", database);
  auto dropped = scrape(*s);
  CHECK_FALSE(dropped.ok);
  CHECK(dropped.error == missing);
}

TEST_CASE("pg_stat_statements: a new database and role are named, a dropped database left out",
          "[pg][statements]") {
  Db db(kDatabase);
  test::admin_sql(
      "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'afp_newcomer') THEN "
      "CREATE ROLE afp_newcomer NOLOGIN; END IF; END $$",
      "postgres");
  pg::StatementsSettings settings;
  settings.limit = 0;
  settings.all_databases = true;
  auto s = source(db.dsn, settings);
  db.lookup(1);
  auto first = text_of(*s);
  CHECK_THAT(first, Catch::Contains("{datname=\"statements_test\",user=\"afp\",queryid="));
  CHECK_THAT(first, !Catch::Contains("afp_newcomer"));

  // Both appear after the source has named the oids it knew.
  const std::string other = "statements_names_test";
  test::fresh_database(other);
  {
    test::AdminSession admin(other);
    admin.sql("SET ROLE afp_newcomer");
    admin.sql("SELECT 'a newcomer' AS newcomer_statement");
    admin.sql("RESET ROLE");
  }
  auto second = text_of(*s);
  CHECK_THAT(second, Catch::Contains("{datname=\"" + other + "\",user=\"afp_newcomer\",queryid="));
  CHECK_THAT(second, Catch::Contains("{datname=\"statements_test\",user=\"afp\",queryid="));

  // pg_stat_statements keeps a dropped database's entries; its series go, as with a join.
  test::admin_sql("DROP DATABASE " + other + " WITH (FORCE)", "postgres");
  CHECK(db.sql("SELECT count(*) FROM pg_stat_statements WHERE dbid NOT IN (SELECT oid FROM "
               "pg_database)")
            .value(0, 0) != "0");
  auto third = text_of(*s);
  CHECK_THAT(third, !Catch::Contains(other));
  CHECK_THAT(third, Catch::Contains("{datname=\"statements_test\",user=\"afp\",queryid="));
}

TEST_CASE("pg_stat_statements: the merge state's size is a gauge of the collection",
          "[pg][statements]") {
  Db db(kDatabase);
  for (int n = 1; n <= 10; ++n)
    db.lookup(n);  // ten entries, one text each, one merged group
  auto s = source(db.dsn);
  auto text = text_of(*s);
  CHECK_THAT(text, Catch::Contains("# TYPE afp_exporter_pg_statements_remembered gauge\n"));
  auto remembered = [&](const std::string& kind) {
    return value(text, "afp_exporter_pg_statements_remembered{kind=\"" + kind + "\"}");
  };
  auto entries = db.sql(
      "SELECT count(*), count(DISTINCT queryid) FROM pg_stat_statements "
      "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
      "current_database())");
  // The exporter's own statements join the view after they ran: at most one more each.
  CHECK(remembered("statements") >= std::stod(std::string(entries.value(0, 0))) - 3);
  CHECK(remembered("statements") <= std::stod(std::string(entries.value(0, 0))));
  CHECK(remembered("texts") >= 10);
  CHECK(remembered("groups") < remembered("statements"));  // the ten look-ups are one group
  CHECK(count_lines(text, "afp_exporter_pg_statements_remembered{") == 3);
}

TEST_CASE("pg_stat_statements: the collections' phases are timed, as totals", "[pg][statements]") {
  Db db(kDatabase);
  db.lookup(3);
  auto s = source(db.dsn);
  auto phase = [](const std::string& text, const std::string& name) {
    return value(text, "afp_exporter_pg_statements_phase_seconds_total{phase=\"" + name + "\"}");
  };
  auto first = text_of(*s);
  CHECK_THAT(first,
             Catch::Contains("# TYPE afp_exporter_pg_statements_phase_seconds_total counter\n"));
  CHECK(phase(first, "query") > 0);
  CHECK(phase(first, "merge") > 0);
  CHECK(phase(first, "text") == 0);  // a collection's own writing counts from the next one
  auto second = text_of(*s);
  CHECK(phase(second, "text") > 0);
  // Totals since the start: the second collection adds to the first's.
  CHECK(phase(second, "query") > phase(first, "query"));
  CHECK(phase(second, "merge") > phase(first, "merge"));
  CHECK(phase(second, "query") < 30);
  CHECK(count_lines(second, "afp_exporter_pg_statements_phase_seconds_total{") == 3);
}
