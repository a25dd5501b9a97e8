// Integration tests against the throw-away PostgreSQL cluster that CTest starts
// (tests/integration/pg_cluster.sh, fixture "pg").
#include <catch2/catch.hpp>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <thread>

#include "collectors/scraper.h"
#include "pg/collectors.h"
#include "pg/connection.h"
#include "pg/source.h"
#include "pg_test_db.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {

std::string cluster_file(const std::string& name) {
  std::ifstream in(std::string(AFP_PG_CLUSTER_DIR) + "/" + name);
  std::string line;
  std::getline(in, line);
  REQUIRE_FALSE(line.empty());
  return line;
}

pg::Dsn dsn() {
  return {cluster_file("dsn"), "test"};
}

struct LogCapture {
  std::string text;
  std::mutex mutex;
  log::Logger log{log::Level::debug, log::Format::logfmt, [this](std::string_view line) {
                    std::lock_guard lock(mutex);
                    text.append(line);
                  }};
};

void admin(const std::string& sql) {
  log::Logger log(log::Level::error);
  pg::Connection conn(cluster_file("admin_dsn"), {}, log);
  conn.query(sql, pg::Clock::now() + 60s);
}

std::string password_of(const std::string& conninfo) {
  std::smatch m;
  REQUIRE(std::regex_search(conninfo, m, std::regex("://[^:]+:([^@]+)@")));
  return m[1];
}

}  // namespace

TEST_CASE("pg: a snapshot holds each collector's families from the live views", "[pg]") {
  admin("DROP TABLE IF EXISTS fingerprints, songs");
  test::create_dejavu_schema(cluster_file("dsn"));  // owned by the exporter's role, afp
  admin(
      "INSERT INTO songs (song_name) SELECT 'song ' || g FROM generate_series(1, 20) g; "
      "INSERT INTO fingerprints (hash, song_id, \"offset\") SELECT "
      "decode(md5(g::text), 'hex'), 1 + g % 20, g FROM generate_series(1, 5000) g; "
      "ANALYZE songs; ANALYZE fingerprints;");
  LogCapture capture;
  pg::Source source(dsn(), {}, capture.log);
  source.add("pg_stat_database", pg::make_stat_database_query());
  source.add("pg_stat_user_tables", pg::make_stat_user_tables_query(500));
  source.add("pg_stat_user_indexes", pg::make_stat_user_indexes_query(500));
  auto snap = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
  REQUIRE(snap->up);
  for (const auto& [name, part] : snap->parts) {
    INFO(name << ": " << part.error);
    CHECK(part.ok);
  }
  const auto& tables = snap->parts.at("pg_stat_user_tables").text;
  CHECK_THAT(tables, Catch::Contains("pg_stat_user_tables_n_live_tup{datname=\"fingerprints\","
                                     "schemaname=\"public\",relname=\"fingerprints\"} 5000\n"));
  CHECK_THAT(tables, Catch::Contains("# TYPE pg_stat_user_tables_seq_scan untyped\n"));
  const auto& indexes = snap->parts.at("pg_stat_user_indexes").text;
  CHECK_THAT(indexes,
             Catch::Contains("pg_stat_user_indexes_idx_scan_total{datname=\"fingerprints\","
                             "schemaname=\"public\",relname=\"fingerprints\","
                             "indexrelname=\"ix_fingerprints_hash\"} 0\n"));
  // postgres_exporter 0.11's names, types and labels (docs/compatibility.md).
  const auto& databases = snap->parts.at("pg_stat_database").text;
  pg::Connection conn(dsn().conninfo, {}, capture.log);
  auto oid = conn.query("SELECT oid FROM pg_database WHERE datname = 'fingerprints'",
                        pg::Clock::now() + 20s);
  const std::string labels =
      "{datid=\"" + std::string(oid.value(0, 0)) + "\",datname=\"fingerprints\"} ";
  CHECK_THAT(databases, Catch::Contains("# TYPE pg_stat_database_numbackends gauge\n"));
  for (const char* column :
       {"xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_returned", "tup_fetched",
        "tup_inserted", "tup_updated", "tup_deleted", "conflicts", "temp_files", "temp_bytes",
        "deadlocks", "blk_read_time", "blk_write_time", "stats_reset"}) {
    std::string family = std::string("pg_stat_database_") + column;
    INFO(family);
    CHECK_THAT(databases, Catch::Contains("# TYPE " + family + " counter\n") &&
                              Catch::Contains("\n" + family + labels));
  }
  CHECK(databases.find("_total") == std::string::npos);
  CHECK(databases.find("datname=\"\"") == std::string::npos);  // no shared-objects row

  // A later collector of the same scrape reuses the snapshot; a later scrape gets a new one.
  CHECK(source.snapshot(snap->started, pg::Clock::now() + 20s) == snap);
  CHECK(source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s) != snap);
}

TEST_CASE("pg: an exclusively locked table costs its sizes, not the collection", "[pg]") {
  admin(
      "DROP TABLE IF EXISTS locked_target, free_target; "
      "CREATE TABLE locked_target (id int PRIMARY KEY); CREATE TABLE free_target (id int); "
      "ALTER TABLE locked_target OWNER TO afp; ALTER TABLE free_target OWNER TO afp; "
      "INSERT INTO locked_target SELECT generate_series(1, 100); "
      "INSERT INTO free_target SELECT generate_series(1, 100)");
  log::Logger quiet(log::Level::error);
  pg::Connection holder(cluster_file("admin_dsn"), {}, quiet);
  holder.query("BEGIN; LOCK TABLE locked_target IN ACCESS EXCLUSIVE MODE", pg::Clock::now() + 20s);

  LogCapture capture;
  pg::Source source(dsn(), {}, capture.log);
  source.add("pg_stat_user_tables", pg::make_stat_user_tables_query(500));
  source.add("pg_stat_user_indexes", pg::make_stat_user_indexes_query(500));
  auto start = pg::Clock::now();
  auto snap = source.snapshot(start, start + 10s);
  // Without the guard the size functions wait for the lock until statement_timeout.
  CHECK(pg::Clock::now() - start < 1500ms);
  for (const auto& [name, part] : snap->parts) {
    INFO(name << ": " << part.error);
    REQUIRE(part.ok);
  }
  const auto& tables = snap->parts.at("pg_stat_user_tables").text;
  CHECK_THAT(tables, Catch::Contains("pg_stat_user_tables_n_live_tup{datname=\"fingerprints\","
                                     "schemaname=\"public\",relname=\"locked_target\"}"));
  CHECK_THAT(tables,
             !Catch::Contains("pg_stat_user_tables_table_size_bytes{datname=\"fingerprints\","
                              "schemaname=\"public\",relname=\"locked_target\"}"));
  CHECK_THAT(tables,
             Catch::Contains("pg_stat_user_tables_table_size_bytes{datname=\"fingerprints\","
                             "schemaname=\"public\",relname=\"free_target\"}"));
  const auto& indexes = snap->parts.at("pg_stat_user_indexes").text;
  CHECK_THAT(indexes,
             Catch::Contains("pg_stat_user_indexes_idx_scan_total{datname=\"fingerprints\","
                             "schemaname=\"public\",relname=\"locked_target\""));
  CHECK_THAT(indexes, !Catch::Contains("pg_stat_user_indexes_size_bytes{datname=\"fingerprints\","
                                       "schemaname=\"public\",relname=\"locked_target\""));

  holder.query("ROLLBACK", pg::Clock::now() + 20s);
  auto after = source.snapshot(pg::Clock::now(), pg::Clock::now() + 10s);
  CHECK_THAT(after->parts.at("pg_stat_user_tables").text,
             Catch::Contains("pg_stat_user_tables_table_size_bytes{datname=\"fingerprints\","
                             "schemaname=\"public\",relname=\"locked_target\"}"));
  admin("DROP TABLE locked_target, free_target");
}

TEST_CASE("pg: index scans show up in the index metrics", "[pg]") {
  log::Logger log(log::Level::error);
  pg::Connection conn(cluster_file("dsn"), {}, log);
  conn.query("SET enable_seqscan = off", pg::Clock::now() + 20s);
  conn.query(
      "SELECT song_id FROM fingerprints WHERE hash IN (decode(md5('1'), 'hex'), "
      "decode(md5('2'), 'hex'))",
      pg::Clock::now() + 20s);
  // The statistics collector reports with a delay of up to a second.
  std::string scans;
  for (int i = 0; i < 50; ++i) {
    auto r = conn.query(
        "SELECT idx_scan FROM pg_stat_user_indexes WHERE indexrelname = "
        "'ix_fingerprints_hash'",
        pg::Clock::now() + 20s);
    scans = std::string(r.value(0, 0));
    if (scans != "0") break;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(scans != "0");
  pg::Source source(dsn(), {}, log);
  source.add("pg_stat_user_indexes", pg::make_stat_user_indexes_query(500));
  auto snap = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
  CHECK_THAT(snap->parts.at("pg_stat_user_indexes").text,
             Catch::Contains("indexrelname=\"ix_fingerprints_hash\"} " + scans + "\n"));
}

TEST_CASE("pg: concurrent scrapes share one collection and one connection", "[pg][concurrency]") {
  log::Logger log(log::Level::error);
  pg::Source source({cluster_file("dsn") + "?application_name=afp_share_test", "test"}, {}, log);
  source.add("pg_stat_database", pg::make_stat_database_query());
  auto start = pg::Clock::now();
  auto a = std::async(std::launch::async, [&] { return source.snapshot(start, start + 20s); });
  auto b = std::async(std::launch::async, [&] { return source.snapshot(start, start + 20s); });
  auto sa = a.get();
  CHECK(sa == b.get());
  log::Logger quiet(log::Level::error);
  pg::Connection conn(cluster_file("admin_dsn"), {}, quiet);
  auto r = conn.query(
      "SELECT count(*) FROM pg_stat_activity WHERE "
      "application_name = 'afp_share_test'",
      pg::Clock::now() + 20s);
  CHECK(r.value(0, 0) == "1");
}

TEST_CASE("pg: a wrong password is a clear error that never shows the password", "[pg]") {
  auto good = cluster_file("dsn");
  std::string bad_password = "Wr0ng-" + password_of(good);
  auto bad = std::regex_replace(good, std::regex(":([^:@/]+)@"), ":" + bad_password + "@");
  LogCapture capture;
  pg::Source source({bad, "test"}, {}, capture.log);
  source.add("pg_stat_database", pg::make_stat_database_query());
  auto snap = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
  CHECK_FALSE(snap->up);
  CHECK_THAT(snap->error, Catch::Contains("password authentication failed"));
  CHECK(snap->error.find(bad_password) == std::string::npos);
  CHECK(capture.text.find(bad_password) == std::string::npos);
  CHECK_THAT(capture.text, Catch::Contains("PostgreSQL unavailable"));
  CHECK_FALSE(snap->parts.at("pg_stat_database").ok);
}

TEST_CASE("pg: a database that does not exist is named, with the setting that chose it", "[pg]") {
  auto good = cluster_file("dsn");
  auto missing = std::regex_replace(good, std::regex("/[^/]+$"), "/afp_no_such_db");
  LogCapture capture;
  pg::Source source({missing, "AFP_PG_DSN_FILE /run/afp/dsn"}, {}, capture.log);
  source.add("pg_stat_database", pg::make_stat_database_query());
  auto snap = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
  CHECK_FALSE(snap->up);
  CHECK_THAT(snap->error,
             Catch::EndsWith("FATAL:  database \"afp_no_such_db\" does not exist (dbname in the "
                             "DSN from AFP_PG_DSN_FILE /run/afp/dsn chose it: name a database "
                             "that exists there, or create this one)"));
  CHECK_THAT(capture.text,
             Catch::Contains("PostgreSQL unavailable") && Catch::Contains("target=afp@127.0.0.1:"));
  CHECK(snap->error.find(password_of(good)) == std::string::npos);
  CHECK(capture.text.find(password_of(good)) == std::string::npos);
}

TEST_CASE("pg: a stopped server gives pg_up 0 on time, and 1 again when it is back",
          "[pg][restart]") {
  LogCapture capture;
  pg::Source source(dsn(), {}, capture.log);
  source.add("pg_stat_database", pg::make_stat_database_query());
  auto before = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
  REQUIRE(before->up);
  // The start time as PostgreSQL itself reports it, read on a connection of the test's own.
  REQUIRE(before->postmaster_start.has_value());
  {
    log::Logger log(log::Level::error);
    pg::Connection conn(cluster_file("dsn"), {}, log);
    auto r = conn.query("SELECT EXTRACT(EPOCH FROM pg_postmaster_start_time())::float8",
                        pg::Clock::now() + 20s);
    CHECK(*before->postmaster_start == std::stod(std::string(r.value(0, 0))));
  }

  REQUIRE(std::system(("\"" AFP_PG_CLUSTER_SCRIPT "\" pause \"" AFP_PG_CLUSTER_DIR "\"")) == 0);
  auto asked = pg::Clock::now();
  auto down = source.snapshot(asked, asked + 3s);
  CHECK_FALSE(down->up);
  CHECK_FALSE(down->postmaster_start.has_value());  // a down server has no start time
  CHECK(pg::Clock::now() < asked + 10s);            // bounded by the deadline, not by TCP timeouts

  REQUIRE(std::system(("\"" AFP_PG_CLUSTER_SCRIPT "\" resume \"" AFP_PG_CLUSTER_DIR "\"")) == 0);
  std::shared_ptr<const pg::Snapshot> after;
  for (int i = 0; i < 120 && !(after && after->up); ++i) {  // reconnects after its backoff
    after = source.snapshot(pg::Clock::now(), pg::Clock::now() + 5s);
    if (!after->up) std::this_thread::sleep_for(250ms);
  }
  REQUIRE(after->up);
  CHECK_THAT(capture.text, Catch::Contains("PostgreSQL connected"));
  // The restarted postmaster: what tells the alert and `status` that the cache is cold.
  REQUIRE(after->postmaster_start.has_value());
  CHECK(*after->postmaster_start > *before->postmaster_start);
}

TEST_CASE("pg: a query past the deadline fails on time and the connection recovers", "[pg]") {
  log::Logger log(log::Level::error);
  pg::Connection conn(cluster_file("dsn"), {}, log);
  auto start = pg::Clock::now();
  CHECK_THROWS_WITH(conn.query("SELECT pg_sleep(5)", start + 300ms), Catch::Contains("timed out"));
  CHECK(pg::Clock::now() < start + 4s);
  CHECK_FALSE(conn.connected());
  // Backoff first (1 s), then a working connection again.
  std::this_thread::sleep_for(1100ms);
  CHECK(conn.query("SELECT 42", pg::Clock::now() + 20s).value(0, 0) == "42");
}

TEST_CASE("pg: an SQL error keeps the connection", "[pg]") {
  log::Logger log(log::Level::error);
  pg::Connection conn(cluster_file("dsn"), {}, log);
  CHECK_THROWS_WITH(conn.query("SELECT * FROM no_such_table", pg::Clock::now() + 20s),
                    Catch::Contains("no_such_table"));
  CHECK(conn.connected());
  CHECK(conn.query("SELECT 1", pg::Clock::now() + 20s).value(0, 0) == "1");
}

namespace {

// A collector that takes `seconds` on the server and writes the backend's pid, so a test
// sees whether the session survived.
class SlowQuery final : public pg::PgQuery {
 public:
  explicit SlowQuery(double seconds) : seconds_(seconds) {}
  void collect(pg::Connection& conn, metrics::TextWriter& out,
               pg::Clock::time_point deadline) override {
    auto r =
        conn.query("SELECT pg_backend_pid(), pg_sleep(" + std::to_string(seconds_) + ")", deadline);
    out.family("slow_backend_pid", "pid", metrics::MetricType::Gauge);
    out.sample({}, std::stod(std::string(r.value(0, 0))));
  }

 private:
  double seconds_;
};

}  // namespace

TEST_CASE("pg: a scrape that stops waiting neither cancels the collection nor drops the session",
          "[pg][deadline][concurrency]") {
  LogCapture capture;
  pg::SourceOptions options;
  options.connection.statement_timeout = 10s;
  pg::Source source(dsn(), options, capture.log);
  source.add("slow", std::make_unique<SlowQuery>(1.5));
  auto first = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
  REQUIRE(first->parts.at("slow").ok);
  auto pid = first->parts.at("slow").text;

  // A hostile scraper: a tiny deadline, again and again, while a collection runs.
  for (int i = 0; i < 5; ++i) {
    auto hurried = source.snapshot(pg::Clock::now(), pg::Clock::now() + 50ms);
    CHECK(hurried->timed_out);
    CHECK_FALSE(hurried->parts.count("slow"));
  }
  auto hurried_end = pg::Clock::now();
  // The collection those scrapes gave up on went on; it serves the next scrape, on the same
  // session, and no reconnect happened.
  std::this_thread::sleep_for(1500ms);
  auto next = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
  CHECK(next->up);
  REQUIRE(next->parts.at("slow").ok);
  CHECK(next->started < hurried_end);  // the late result, not a new collection
  CHECK(next->parts.at("slow").text == pid);
  CHECK(capture.text.find("PostgreSQL unavailable") == std::string::npos);
}

TEST_CASE("pg: thousands of tables export only the largest, the rest counted", "[pg][limits]") {
  admin(
      "DROP SCHEMA IF EXISTS many CASCADE; CREATE SCHEMA many; "
      "DO $$BEGIN FOR i IN 1..40 LOOP "
      "EXECUTE format('CREATE TABLE many.t%s (id int PRIMARY KEY)', i); END LOOP; END$$; "
      "INSERT INTO many.t7 SELECT generate_series(1, 20000); "
      "INSERT INTO many.t8 SELECT generate_series(1, 10000);");
  log::Logger log(log::Level::error);
  pg::Connection conn(cluster_file("dsn"), {}, log);
  auto count = [&](const char* view) {
    auto r = conn.query(std::string("SELECT count(*) FROM ") + view, pg::Clock::now() + 20s);
    return std::stoi(std::string(r.value(0, 0)));
  };
  int tables = count("pg_stat_user_tables");
  int indexes = count("pg_stat_user_indexes");
  REQUIRE(tables >= 40);

  pg::Source source(dsn(), {}, log);
  source.add("pg_stat_user_tables", pg::make_stat_user_tables_query(3));
  source.add("pg_stat_user_indexes", pg::make_stat_user_indexes_query(2));
  auto snap = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
  const auto& t = snap->parts.at("pg_stat_user_tables").text;
  const auto& i = snap->parts.at("pg_stat_user_indexes").text;
  auto series = [](const std::string& text, const std::string& family) {
    std::size_t n = 0;
    for (auto at = text.find("\n" + family + "{"); at != std::string::npos;
         at = text.find("\n" + family + "{", at + 1))
      ++n;
    return n;
  };
  CHECK(series(t, "pg_stat_user_tables_n_live_tup") == 3);
  CHECK(series(i, "pg_stat_user_indexes_size_bytes") == 2);
  CHECK_THAT(
      t, Catch::Contains("afp_pg_stat_user_tables_omitted " + std::to_string(tables - 3) + "\n"));
  CHECK_THAT(
      i, Catch::Contains("afp_pg_stat_user_indexes_omitted " + std::to_string(indexes - 2) + "\n"));
  // The largest are the ones kept: the fingerprints table and the two filled ones.
  CHECK_THAT(t, Catch::Contains("relname=\"t7\""));
  CHECK_THAT(t, Catch::Contains("relname=\"fingerprints\""));
  CHECK_THAT(i, Catch::Contains("indexrelname=\"t7_pkey\""));
  admin("DROP SCHEMA many CASCADE");
}

TEST_CASE("pg: a prefetched collection runs while the scrape's other collectors do, and serves it",
          "[pg][concurrency]") {
  log::Logger log(log::Level::error);
  pg::SourceOptions options;
  options.prefetch = true;
  pg::Source source(dsn(), options, log);
  source.add("slow", std::make_unique<SlowQuery>(0.5));
  auto scrape_start = pg::Clock::now();
  source.prefetch(scrape_start);
  source.prefetch(scrape_start);       // a second collector of the same scrape: no second run
  std::this_thread::sleep_for(700ms);  // the collectors before PostgreSQL's
  auto asked = pg::Clock::now();
  auto snapshot = source.snapshot(scrape_start, asked + 20s);
  REQUIRE(snapshot->parts.at("slow").ok);
  CHECK(snapshot->started >= scrape_start);
  CHECK(snapshot->started < asked);  // begun by prefetch, not by the snapshot
  // Once taken, it serves the scrape's other PostgreSQL collectors without a new run.
  CHECK(source.snapshot(scrape_start, pg::Clock::now() + 20s) == snapshot);
}

TEST_CASE("pg: without prefetch, the collection starts only when its collector asks for it",
          "[pg][concurrency]") {
  log::Logger log(log::Level::error);
  pg::Source source(dsn(), {}, log);  // prefetch off, the default
  source.add("slow", std::make_unique<SlowQuery>(0.1));
  auto scrape_start = pg::Clock::now();
  source.prefetch(scrape_start);
  std::this_thread::sleep_for(300ms);  // long enough for a prefetched run to have begun
  auto asked = pg::Clock::now();
  auto snapshot = source.snapshot(scrape_start, asked + 20s);
  REQUIRE(snapshot->parts.at("slow").ok);
  CHECK(snapshot->started >= asked);  // begun by the snapshot
}

TEST_CASE("pg: a new collection lets go of the last one, so two are never resident at once",
          "[pg][memory]") {
  log::Logger log(log::Level::error);
  pg::SourceOptions options;
  options.prefetch = true;  // to start the next collection without waiting for it
  pg::Source source(dsn(), options, log);
  source.add("slow", std::make_unique<SlowQuery>(0.3));
  std::weak_ptr<const pg::Snapshot> first;
  {
    auto taken = source.snapshot(pg::Clock::now(), pg::Clock::now() + 20s);
    REQUIRE(taken->parts.at("slow").ok);
    first = taken;
  }                              // the scrape that took it has sent it
  CHECK_FALSE(first.expired());  // kept: it may serve the next scrape (cache, late result)
  source.prefetch(pg::Clock::now());
  // Released once the collection thread starts the new one.
  for (int i = 0; i < 200 && !first.expired(); ++i)
    std::this_thread::sleep_for(10ms);
  CHECK(first.expired());
  auto second = source.snapshot(pg::Clock::now() - 1s, pg::Clock::now() + 20s);
  CHECK(second->parts.at("slow").ok);
}

// The scraper hands a PostgreSQL part to the response uncopied (ScrapeContext::shared_text).
// While it is being sent, other scrapes go on: one starts a new collection, which lets go
// of the source's reference to the old snapshot, and replaces it. The text being sent must
// stay the old snapshot's, alive until the drain returns (under ASan, a read of freed memory
// here aborts the test).
TEST_CASE("pg: a part being sent outlives the collection that replaces its snapshot",
          "[pg][concurrency][memory]") {
  log::Logger log(log::Level::error);
  auto source = std::make_shared<pg::Source>(dsn(), pg::SourceOptions{}, log);
  source->add("slow", std::make_unique<SlowQuery>(0.1));
  std::vector<collectors::NamedCollector> list;
  list.push_back({"postgres", pg::make_up_collector(source)});
  list.push_back({"slow", pg::make_collector(source, "slow")});
  collectors::CollectorHealth health(log);
  collectors::Scraper scraper(std::move(list), health);

  std::string text;
  metrics::TextWriter writer(text);
  std::string sent;
  int parts_sent = 0;
  scraper.scrape(writer, pg::Clock::now() + 20s, [&](std::string_view piece) {
    sent.append(piece);
    if (piece.find("slow_backend_pid") == std::string_view::npos) return;
    ++parts_sent;
    std::string before(piece);
    // Another scrape, meanwhile: a whole new collection, begun and finished.
    auto asked = pg::Clock::now();
    auto newer = source->snapshot(asked, asked + 20s);
    REQUIRE(newer->parts.at("slow").ok);
    CHECK(newer->started >= asked);
    CHECK(newer->parts.at("slow").text.data() != piece.data());
    CHECK(piece == before);
  });
  CHECK(parts_sent == 1);
  CHECK(sent.find("afp_exporter_scrape_collector_success{collector=\"slow\"} 1") !=
        std::string::npos);
}
