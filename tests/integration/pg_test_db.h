#pragma once

// Helpers for integration tests: each test file works in a database of its own on the
// shared test cluster, so tests that drop indexes or delete rows do not disturb others.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "lib/child_process.h"
#include "log/logger.h"
#include "pg/connection.h"

namespace afp::test {

inline std::string cluster_file(const std::string& name) {
  std::ifstream in(std::string(AFP_PG_CLUSTER_DIR) + "/" + name);
  std::string line;
  std::getline(in, line);
  REQUIRE_FALSE(line.empty());
  return line;
}

// The cluster superuser's DSN for `database`.
inline std::string admin_dsn(const std::string& database) {
  return std::regex_replace(cluster_file("admin_dsn"), std::regex("/[^/]+$"), "/" + database);
}

// Runs SQL as the cluster's superuser in `database`.
inline void admin_sql(const std::string& sql, const std::string& database = "fingerprints") {
  log::Logger log(log::Level::error);
  pg::Connection conn(admin_dsn(database), {std::chrono::seconds(10), std::chrono::minutes(10)},
                      log);
  conn.query(sql, pg::Clock::now() + std::chrono::minutes(10));
}

// A superuser session in `database` for setups of several steps.
class AdminSession {
 public:
  explicit AdminSession(const std::string& database)
      : conn_(admin_dsn(database), {std::chrono::seconds(10), std::chrono::minutes(10)}, log_) {}

  pg::Result sql(const std::string& sql) {
    return conn_.query(sql, pg::Clock::now() + std::chrono::minutes(10));
  }

  // Makes this session's table statistics (n_dead_tup, n_mod_since_analyze, ...) visible to
  // other sessions before returning. A backend publishes them when idle at most once a
  // second, or when it exits, which is after its client has moved on: without this, a test
  // that reads pg_stat_user_tables right after a DELETE races the backend.
  void flush_stats() {
    if (conn_.server_version() >= 150000) {
      sql("SELECT pg_stat_force_next_flush()");  // flushed once that statement ends
      sql("SELECT 1");
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // the stats collector
    }
  }

  // Forgets this database's pg_stat_statements entries (set-up statements are slow).
  void reset_statements() {
    sql("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = "
        "current_database()), 0)");
  }

  bool exists(const std::string& sql_condition) {
    auto r = sql("SELECT (" + sql_condition + ")::int");
    return r.value(0, 0) == "1";
  }

 private:
  log::Logger log_{log::Level::error};
  pg::Connection conn_;
};

// (Re)creates `database` owned by the exporter's role, with pg_stat_statements, and
// returns the exporter's DSN for it.
inline std::string fresh_database(const std::string& database) {
  admin_sql("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)", "postgres");
  admin_sql("CREATE DATABASE " + database + " OWNER afp", "postgres");
  admin_sql("CREATE EXTENSION pg_stat_statements", database);
  return std::regex_replace(cluster_file("dsn"), std::regex("/[^/]+$"), "/" + database);
}

// Dejavu's schema in the database of `dsn`, created by `afp_workload init` as that DSN's
// role: the reference service's own schema (workload/src/song_store.cpp), not a copy.
inline void create_dejavu_schema(const std::string& dsn) {
  ChildOptions options;
  options.env = std::vector<std::string>{"AFP_PG_DSN=" + dsn, "PATH=/usr/bin:/bin"};
  ChildProcess init({AFP_WORKLOAD_BINARY, "init"}, options);
  int code = init.wait();
  INFO("afp_workload init: " << init.err());
  REQUIRE(code == 0);
}

// `songs` songs with `hashes_per_song` 10-byte hashes each, deterministic. With `analyze`,
// an ANALYZE in the same transaction: the planner statistics are right, but the inserts are
// counted into n_mod_since_analyze at commit, after it; load_dejavu avoids that.
inline std::string dejavu_data_sql(int songs, int hashes_per_song, bool analyze = true) {
  return "INSERT INTO songs (song_name, fingerprinted, total_hashes) SELECT 'song ' || g, 1, " +
         std::to_string(hashes_per_song) + " FROM generate_series(1, " + std::to_string(songs) +
         ") g; INSERT INTO fingerprints (hash, song_id, \"offset\") SELECT "
         "substring(decode(md5(s || ':' || o), 'hex') FROM 1 FOR 10), s, o FROM "
         "generate_series(1, " +
         std::to_string(songs) + ") s, generate_series(1, " + std::to_string(hashes_per_song) +
         ") o;" + (analyze ? " ANALYZE;" : "");
}

// Dejavu's schema and data in `database`, analyzed after the inserts were counted, so
// pg_stat_user_tables shows freshly analyzed tables; pg_stat_statements forgets the set-up.
inline void load_dejavu(const std::string& database, int songs, int hashes_per_song) {
  create_dejavu_schema(admin_dsn(database));
  AdminSession s(database);
  s.sql(dejavu_data_sql(songs, hashes_per_song, /*analyze=*/false));
  s.flush_stats();
  s.sql("ANALYZE");
  s.flush_stats();
  s.reset_statements();
}

}  // namespace afp::test
