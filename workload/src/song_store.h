#pragma once

// Dejavu's tables and the SQL the reference service runs on them. Every statement's
// duration is reported as db_query (lookup for hash look-ups, insert for new rows, delete
// for cleaning up, other for the rest), as a production app's data layer would.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "align.h"
#include "db_pool.h"
#include "file_digest.h"
#include "fingerprint.h"
#include "log/logger.h"
#include "reporter.h"

namespace afp::workload {

// Rows per INSERT and hashes per IN list.
inline constexpr std::size_t kSqlBatch = 1000;

struct StoredSong {
  std::int32_t id = 0;
  std::string name;
};

struct StoreResult {
  std::int32_t song_id = 0;
  bool inserted = false;   // false: a song with that file_sha1 was fingerprinted already
  std::size_t hashes = 0;  // distinct (hash, offset) rows written
};

struct LookupResult {
  std::vector<HashHit> hits;  // one per stored row x clip offset with that hash
  int distinct_hashes = 0;    // of the clip
};

class SongStore {
 public:
  SongStore(ConnectionPool& pool, Reporter& reporter, log::Logger& log);

  // Creates the tables and the hash index if missing; pg_stat_statements too when the role
  // may (a failure there is only logged).
  void ensure_schema();
  bool is_fingerprinted(const FileSha1& file_sha1);
  // Stores a song and its landmarks unless a song with the same file_sha1 is fingerprinted
  // already; an unfinished earlier attempt (fingerprinted = 0) is deleted first.
  // Throws std::invalid_argument for a name PostgreSQL would refuse.
  StoreResult store_song(std::string_view name, const FileSha1& file_sha1,
                         const std::vector<Landmark>& landmarks);
  LookupResult lookup(const std::vector<Landmark>& clip);
  std::optional<std::string> song_name(std::int32_t song_id);
  std::vector<StoredSong> fingerprinted_songs();
  // ANALYZE of both tables, for the planner to use the hash index after a bulk load.
  void analyze();

 private:
  pg::Result timed(ConnectionPool::Lease& db, const std::string& sql, std::string_view operation);
  void insert_landmarks(ConnectionPool::Lease& db, std::int32_t song_id,
                        const std::vector<Landmark>& landmarks);

  ConnectionPool& pool_;
  Reporter& reporter_;
  log::Logger& log_;
};

}  // namespace afp::workload
