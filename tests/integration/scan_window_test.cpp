// `db report` judges the fingerprint table's scans from a window of a few seconds, not from
// the counters since the statistics were reset: right after `db optimize --apply` built the
// look-up index the report is clean, and each sequential-scan finding names its cause.
#include <atomic>
#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "db_cli.h"
#include "pg_test_db.h"

using namespace afp;
using namespace afp::test;

namespace {

const std::string kDatabase = "scan_window_test";

// Runs one statement every 100 ms or so on a connection of its own, as the app's look-ups
// do, until destroyed.
class Traffic {
 public:
  Traffic(std::string dsn, std::string sql)
      : thread_([this, dsn = std::move(dsn), sql = std::move(sql)] { run(dsn, sql); }) {}
  ~Traffic() {
    stop_ = true;
    thread_.join();
  }
  Traffic(const Traffic&) = delete;
  Traffic& operator=(const Traffic&) = delete;

  // Waits until the statement has run `n` times; fails the test if it fails to.
  void wait_for(int n) {
    for (int i = 0; i < 6000 && runs_ < n && !failed_; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::lock_guard lock(mutex_);
    INFO(error_);
    REQUIRE(runs_ >= n);
  }

 private:
  void run(const std::string& dsn, const std::string& sql) {
    try {
      log::Logger log(log::Level::error);
      pg::Connection conn(dsn, {std::chrono::seconds(10), std::chrono::minutes(1)}, log);
      while (!stop_) {
        conn.query(sql, pg::Clock::now() + std::chrono::minutes(1));
        ++runs_;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(mutex_);
      error_ = e.what();
      failed_ = true;
    }
  }

  std::atomic<bool> stop_{false}, failed_{false};
  std::atomic<int> runs_{0};
  std::mutex mutex_;
  std::string error_;
  std::thread thread_;  // last: it starts once the members it uses exist
};

// Dejavu's look-up of `n` hashes (10 bytes each, as hex), most of them absent.
std::string dejavu_lookup(int n) {
  std::string list;
  for (int i = 0; i < n; ++i) {
    char hex[21];
    std::snprintf(hex, sizeof hex, "%020x", 0x5eed0000u + static_cast<unsigned>(i) * 7919u);
    list += std::string(list.empty() ? "" : ", ") + "decode('" + hex + "', 'hex')";
  }
  return "SELECT upper(encode(hash, 'hex')), song_id, \"offset\" FROM fingerprints WHERE hash IN "
         "(" +
         list + ")";
}

// The same look-up written against the index's type: the hash compared as hex text.
std::string text_lookup(int n) {
  std::string list;
  for (int i = 0; i < n; ++i) {
    char hex[21];
    std::snprintf(hex, sizeof hex, "%020x", 0x5eed0000u + static_cast<unsigned>(i) * 7919u);
    list += std::string(list.empty() ? "'" : ", '") + hex + "'";
  }
  return "SELECT song_id, \"offset\" FROM fingerprints WHERE encode(hash, 'hex') IN (" + list + ")";
}

std::int64_t counter(AdminSession& admin, const std::string& column) {
  auto r =
      admin.sql("SELECT " + column + " FROM pg_stat_user_tables WHERE relname = 'fingerprints'");
  return std::stoll(std::string(r.value(0, 0)));
}

bool plan_scans_sequentially(AdminSession& admin, const std::string& sql) {
  auto r = admin.sql("EXPLAIN " + sql);
  for (int i = 0; i < r.rows(); ++i) {
    if (std::string(r.value(i, 0)).find("Seq Scan on fingerprints") != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("scan window: right after optimize --apply builds the index, the report is clean",
          "[advisor]") {
  auto dsn = fresh_database(kDatabase);
  load_dejavu(kDatabase, 200, 1000);  // 200,000 fingerprints
  const auto owner = admin_dsn(kDatabase);
  AdminSession admin(kDatabase);
  admin.sql("DROP INDEX ix_fingerprints_hash");

  // Look-ups without the index, each a (parallel) sequential scan of the whole table: the
  // counters since the reset remember them long after the index exists.
  const auto lookup = dejavu_lookup(100);
  REQUIRE(plan_scans_sequentially(admin, lookup));
  for (int i = 0; i < 150; ++i)
    admin.sql(lookup);
  admin.flush_stats();
  REQUIRE(counter(admin, "seq_scan") >= 150);

  auto run = db({"optimize", "--apply"}, owner);
  REQUIRE(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("all resolved"));
  REQUIRE_FALSE(plan_scans_sequentially(admin, lookup));

  // The app goes on looking up, through the index now; the report runs at once.
  Traffic app(owner, dejavu_lookup(1));
  app.wait_for(3);
  auto r = report(dsn, "3s");
  CHECK(r.code == 0);
  CHECK(serious(r) == 0);
  CHECK(r.doc.at("window_seconds").get<double>() >= 3.0);
  for (const char* id : {"hash_index_unused", "lookup_type_mismatch", "seq_scan_small_table",
                         "lookups_not_judged"}) {
    CHECK(findings(r, id).empty());
  }
  // What a judgement of the counters since the reset would have got wrong: they still say
  // the table is scanned sequentially more often than through an index.
  CHECK(counter(admin, "seq_scan") > counter(admin, "idx_scan"));
}

TEST_CASE("scan window: each cause of sequential look-ups has its finding", "[advisor]") {
  SECTION("a missing index") {
    auto dsn = fresh_database(kDatabase);
    load_dejavu(kDatabase, 200, 1000);
    admin_sql("DROP INDEX ix_fingerprints_hash", kDatabase);
    Traffic app(admin_dsn(kDatabase), dejavu_lookup(10));
    app.wait_for(2);
    auto r = report(dsn, "3s");
    CHECK(r.code == 1);
    auto f = findings(r, "hash_index_missing");
    REQUIRE(f.size() == 1);
    CHECK(f[0].at("severity") == "critical");
    CHECK(f[0].at("evidence").at("cause") == "missing_index");
    CHECK(f[0].at("evidence").at("seq_scans_in_window").get<long long>() > 0);
    CHECK_THAT(f[0].at("fix_sql").get<std::string>(), Catch::Contains("CREATE INDEX"));
    CHECK(findings(r, "hash_index_unused").empty());
  }

  SECTION("a type mismatch: the hash compared as text") {
    auto dsn = fresh_database(kDatabase);
    load_dejavu(kDatabase, 200, 1000);
    Traffic app(admin_dsn(kDatabase), text_lookup(10));
    app.wait_for(2);
    auto r = report(dsn, "3s");
    CHECK(r.code == 1);
    auto f = findings(r, "lookup_type_mismatch");
    REQUIRE(f.size() == 1);
    CHECK(f[0].at("severity") == "warning");
    CHECK(f[0].at("evidence").at("cause") == "type_mismatch");
    CHECK(f[0].at("evidence").at("calls_in_window").get<long long>() > 0);
    CHECK_THAT(f[0].at("evidence").at("query").get<std::string>(),
               Catch::Contains("WHERE encode(hash, $1) IN"));
    CHECK_THAT(f[0].at("note").get<std::string>(), Catch::Contains("decode($1, 'hex')"));
    CHECK(findings(r, "hash_index_unused").empty());
    CHECK(findings(r, "hash_index_missing").empty());
  }

  SECTION("a planner choice: a table too small for the index to pay") {
    auto dsn = fresh_database(kDatabase);
    load_dejavu(kDatabase, 10, 100);  // 1,000 fingerprints
    const auto lookup = dejavu_lookup(200);
    {
      AdminSession admin(kDatabase);
      REQUIRE(plan_scans_sequentially(admin, lookup));
    }
    Traffic app(admin_dsn(kDatabase), lookup);
    app.wait_for(2);
    auto r = report(dsn, "3s");
    CHECK(r.code == 0);
    auto f = findings(r, "seq_scan_small_table");
    REQUIRE(f.size() == 1);
    CHECK(f[0].at("severity") == "info");
    CHECK(f[0].at("evidence").at("cause") == "small_table");
    CHECK(findings(r, "hash_index_unused").empty());
  }
}

TEST_CASE("scan window: a window without look-ups says so instead of judging the past",
          "[advisor]") {
  auto dsn = fresh_database(kDatabase);
  load_dejavu(kDatabase, 200, 1000);
  {
    AdminSession admin(kDatabase);
    admin.sql("SET max_parallel_workers_per_gather = 0");
    for (int i = 0; i < 30; ++i)
      admin.sql("SELECT count(*) FROM fingerprints");  // 30 sequential scans, in the past
    admin.flush_stats();
  }
  auto r = report(dsn, "2s");
  CHECK(r.code == 0);
  auto f = findings(r, "lookups_not_judged");
  REQUIRE(f.size() == 1);
  CHECK(f[0].at("severity") == "info");
  CHECK_THAT(f[0].at("title").get<std::string>(), Catch::Contains("no scan of fingerprints"));
  CHECK(findings(r, "hash_index_unused").empty());

  auto text = db({"report", "--window", "1s"}, dsn);
  CHECK(text.code == 0);
  CHECK_THAT(text.out, Catch::Contains("look-ups judged by the scans of the last 1."));
}
