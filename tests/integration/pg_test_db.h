#pragma once

// Helpers for integration tests: each test file works in a database of its own on the
// shared test cluster, so tests that drop indexes or delete rows do not disturb others.
#include <catch2/catch.hpp>
#include <fstream>
#include <regex>
#include <string>

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

// Runs SQL as the cluster's superuser in `database`.
inline void admin_sql(const std::string& sql, const std::string& database = "fingerprints") {
  log::Logger log(log::Level::error);
  auto dsn = std::regex_replace(cluster_file("admin_dsn"), std::regex("/[^/]+$"), "/" + database);
  pg::Connection conn(dsn, {std::chrono::seconds(10), std::chrono::minutes(10)}, log);
  conn.query(sql, pg::Clock::now() + std::chrono::minutes(10));
}

// (Re)creates `database` owned by the exporter's role, with pg_stat_statements, and
// returns the exporter's DSN for it.
inline std::string fresh_database(const std::string& database) {
  admin_sql("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)", "postgres");
  admin_sql("CREATE DATABASE " + database + " OWNER afp", "postgres");
  admin_sql("CREATE EXTENSION pg_stat_statements", database);
  return std::regex_replace(cluster_file("dsn"), std::regex("/[^/]+$"), "/" + database);
}

// Dejavu's schema, as the reference service creates it.
inline const char* kDejavuSchema =
    "CREATE TABLE songs (song_id serial PRIMARY KEY, song_name varchar(250) NOT NULL, "
    "fingerprinted smallint DEFAULT 0, file_sha1 bytea, total_hashes int NOT NULL DEFAULT 0, "
    "date_created timestamp NOT NULL DEFAULT now(), date_modified timestamp NOT NULL DEFAULT "
    "now()); "
    "CREATE TABLE fingerprints (hash bytea NOT NULL, song_id int NOT NULL REFERENCES songs "
    "ON DELETE CASCADE, \"offset\" int NOT NULL, date_created timestamp NOT NULL DEFAULT now(), "
    "date_modified timestamp NOT NULL DEFAULT now(), "
    "CONSTRAINT uq_fingerprints UNIQUE (song_id, \"offset\", hash)); "
    "CREATE INDEX ix_fingerprints_hash ON fingerprints USING hash (hash);";

// `songs` songs with `hashes_per_song` 10-byte hashes each, deterministic.
inline std::string dejavu_data_sql(int songs, int hashes_per_song) {
  return "INSERT INTO songs (song_name, fingerprinted, total_hashes) SELECT 'song ' || g, 1, " +
         std::to_string(hashes_per_song) + " FROM generate_series(1, " + std::to_string(songs) +
         ") g; INSERT INTO fingerprints (hash, song_id, \"offset\") SELECT "
         "substring(decode(md5(s || ':' || o), 'hex') FROM 1 FOR 10), s, o FROM generate_series(1, " +
         std::to_string(songs) + ") s, generate_series(1, " + std::to_string(hashes_per_song) +
         ") o; ANALYZE;";
}

}  // namespace afp::test
