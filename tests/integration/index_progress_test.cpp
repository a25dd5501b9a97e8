// db optimize's progress of an index build: CreateIndexWatcher reads
// pg_stat_progress_create_index on a second connection while CREATE INDEX CONCURRENTLY runs
// on the first. The build is held in its "waiting for writers before build" phase by a
// transaction that wrote to the table, so the watcher sees it whatever the machine's speed;
// the transaction then commits and the build finishes.
#include "pg/index_progress.h"

#include <condition_variable>
#include <future>
#include <mutex>
#include <vector>

#include "pg_test_db.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {
const std::string kDatabase = "afp_index_progress";
}

TEST_CASE("index progress: a concurrent build's phase and counts, from a second connection",
          "[pg][progress]") {
  test::fresh_database(kDatabase);
  // Dejavu's schema without its hash index, which the test builds.
  test::create_dejavu_schema(test::admin_dsn(kDatabase));
  test::AdminSession admin(kDatabase);
  admin.sql("DROP INDEX ix_fingerprints_hash; " + test::dejavu_data_sql(100, 500, false));

  // A writer whose transaction the concurrent build has to wait for.
  test::AdminSession writer(kDatabase);
  writer.sql("BEGIN");
  writer.sql("INSERT INTO fingerprints (hash, song_id, \"offset\") VALUES ('\\x00', 1, 0)");

  std::promise<int> builder_pid;
  auto pid_ready = builder_pid.get_future();
  std::string build_error;
  std::thread builder([&] {
    try {
      test::AdminSession build(kDatabase);
      builder_pid.set_value(
          std::stoi(std::string(build.sql("SELECT pg_backend_pid()").value(0, 0))));
      build.sql("CREATE INDEX CONCURRENTLY ix_fingerprints_hash ON fingerprints USING hash (hash)");
    } catch (const std::exception& e) {
      build_error = e.what();
    }
  });
  const int pid = pid_ready.get();

  std::mutex mutex;
  std::condition_variable seen;
  std::vector<pg::CreateIndexProgress> rows;
  log::Logger quiet(log::Level::error);
  {
    pg::CreateIndexWatcher watcher(test::admin_dsn(kDatabase), pid, 50ms, quiet,
                                   [&](const pg::CreateIndexProgress& row) {
                                     std::lock_guard lock(mutex);
                                     rows.push_back(row);
                                     seen.notify_all();
                                   });
    std::unique_lock lock(mutex);
    // A generous bound so that a broken watcher fails instead of hanging; no threshold.
    bool waiting = seen.wait_for(lock, 120s, [&] {
      for (const auto& r : rows) {
        if (r.phase == "waiting for writers before build" && r.lockers_total >= 1) return true;
      }
      return false;
    });
    CHECK(waiting);
  }
  writer.sql("COMMIT");
  builder.join();
  CHECK(build_error.empty());
  CHECK(
      admin.exists("SELECT count(*) = 1 FROM pg_index i JOIN pg_class c ON c.oid = "
                   "i.indexrelid WHERE c.relname = 'ix_fingerprints_hash' AND i.indisvalid"));

  // The watcher stopped before the writer committed: its last row is still the wait.
  REQUIRE_FALSE(rows.empty());
  CHECK_THAT(pg::describe(rows.back()),
             Catch::StartsWith("waiting for writers before build, transactions ") &&
                 Catch::Contains(" of "));

  // The same query on a backend that builds nothing: no row, no progress.
  pg::Connection conn(test::admin_dsn(kDatabase), {}, quiet);
  CHECK_FALSE(pg::read_create_index_progress(conn, pid, pg::Clock::now() + 20s));
  test::admin_sql("DROP DATABASE IF EXISTS " + kDatabase + " WITH (FORCE)", "postgres");
}
