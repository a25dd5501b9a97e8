#include "song_store.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <stdexcept>
#include <tuple>

#include "stopwatch.h"

namespace afp::workload {

namespace {

// Dejavu's schema (tests/integration/pg_test_db.h kDejavuSchema), idempotent.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS songs (song_id serial PRIMARY KEY, song_name varchar(250) NOT "
    "NULL, fingerprinted smallint DEFAULT 0, file_sha1 bytea, total_hashes int NOT NULL DEFAULT "
    "0, date_created timestamp NOT NULL DEFAULT now(), date_modified timestamp NOT NULL DEFAULT "
    "now()); "
    "CREATE TABLE IF NOT EXISTS fingerprints (hash bytea NOT NULL, song_id int NOT NULL "
    "REFERENCES songs ON DELETE CASCADE, \"offset\" int NOT NULL, date_created timestamp NOT "
    "NULL DEFAULT now(), date_modified timestamp NOT NULL DEFAULT now(), "
    "CONSTRAINT uq_fingerprints UNIQUE (song_id, \"offset\", hash)); "
    "CREATE INDEX IF NOT EXISTS ix_fingerprints_hash ON fingerprints USING hash (hash);";

constexpr std::size_t kMaxSongNameBytes = 250;  // varchar(250): never more characters

// A string literal under standard_conforming_strings (on since PostgreSQL 9.1).
std::string quoted(std::string_view text) {
  if (text.find('\0') != std::string_view::npos) {
    throw std::invalid_argument("text for PostgreSQL contains a NUL byte");
  }
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string bytea_literal(const FileSha1& digest) {
  return "'\\x" + to_hex(digest) + "'";
}

std::int32_t to_int(std::string_view text) {
  std::int32_t value = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), value);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size()) {
    throw pg::PgError("unexpected integer from PostgreSQL: \"" + std::string(text) + "\"");
  }
  return value;
}

// Each (hash, offset) once, in a stable order: a song's rows, and its total_hashes.
std::vector<Landmark> distinct_landmarks(std::vector<Landmark> landmarks) {
  auto key = [](const Landmark& l) { return std::tie(l.hash, l.offset); };
  std::sort(landmarks.begin(), landmarks.end(),
            [&](const Landmark& a, const Landmark& b) { return key(a) < key(b); });
  landmarks.erase(std::unique(landmarks.begin(), landmarks.end()), landmarks.end());
  return landmarks;
}

}  // namespace

SongStore::SongStore(ConnectionPool& pool, Reporter& reporter, log::Logger& log)
    : pool_(pool), reporter_(reporter), log_(log) {}

pg::Result SongStore::timed(ConnectionPool::Lease& db, const std::string& sql,
                            std::string_view operation) {
  Stopwatch watch;
  try {
    auto result = db.query(sql);
    reporter_.db_query(watch.seconds(), operation);
    return result;
  } catch (...) {
    reporter_.db_query(watch.seconds(), operation);  // a failed query took time too
    throw;
  }
}

void SongStore::ensure_schema() {
  auto db = pool_.acquire();
  // IF NOT EXISTS says "already exists, skipping" as a NOTICE, which libpq prints.
  db.query("SET client_min_messages = warning");
  try {
    db.query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
  } catch (const pg::PgError& e) {
    // Needs a privileged role, and the exporter's statements view works without it.
    log_.info("pg_stat_statements not created; the exporter's statements collector needs it",
              {{"err", e.what()}});
  }
  db.query(kSchema);
}

void SongStore::analyze() {
  auto db = pool_.acquire();
  timed(db, "ANALYZE songs, fingerprints", "other");
}

bool SongStore::is_fingerprinted(const FileSha1& file_sha1) {
  auto db = pool_.acquire();
  auto r = timed(db,
                 "SELECT 1 FROM songs WHERE file_sha1 = " + bytea_literal(file_sha1) +
                     " AND fingerprinted = 1 LIMIT 1",
                 "other");
  return r.rows() > 0;
}

StoreResult SongStore::store_song(std::string_view name, const FileSha1& file_sha1,
                                  const std::vector<Landmark>& landmarks) {
  if (name.empty() || name.size() > kMaxSongNameBytes) {
    throw std::invalid_argument("a song name must have 1 to 250 bytes");
  }
  std::string sha = bytea_literal(file_sha1);
  auto db = pool_.acquire();
  auto existing =
      timed(db, "SELECT song_id, fingerprinted FROM songs WHERE file_sha1 = " + sha, "other");
  bool unfinished = false;
  for (int row = 0; row < existing.rows(); ++row) {
    if (existing.value(row, 1) == "1") return {to_int(existing.value(row, 0)), false, 0};
    unfinished = true;
  }
  if (unfinished) {  // an ingest stopped half-way: its rows are incomplete
    timed(db, "DELETE FROM songs WHERE file_sha1 = " + sha + " AND fingerprinted = 0", "delete");
  }
  auto inserted = timed(db,
                        "INSERT INTO songs (song_name, file_sha1) VALUES (" + quoted(name) + ", " +
                            sha + ") RETURNING song_id",
                        "insert");
  StoreResult result{to_int(inserted.value(0, 0)), true, 0};
  auto rows = distinct_landmarks(landmarks);
  insert_landmarks(db, result.song_id, rows);
  timed(db,
        "UPDATE songs SET fingerprinted = 1, total_hashes = " + std::to_string(rows.size()) +
            ", date_modified = now() WHERE song_id = " + std::to_string(result.song_id),
        "other");
  result.hashes = rows.size();
  return result;
}

void SongStore::insert_landmarks(ConnectionPool::Lease& db, std::int32_t song_id,
                                 const std::vector<Landmark>& landmarks) {
  std::string id = std::to_string(song_id);
  for (std::size_t begin = 0; begin < landmarks.size(); begin += kSqlBatch) {
    std::size_t end = std::min(begin + kSqlBatch, landmarks.size());
    std::string sql = "INSERT INTO fingerprints (hash, song_id, \"offset\") VALUES ";
    sql.reserve(sql.size() + (end - begin) * 48);
    for (std::size_t i = begin; i < end; ++i) {
      if (i > begin) sql += ',';
      sql += "('" + to_bytea_hex(landmarks[i].hash) + "'," + id + ',' +
             std::to_string(landmarks[i].offset) + ')';
    }
    sql += " ON CONFLICT DO NOTHING";
    timed(db, sql, "insert");
  }
}

LookupResult SongStore::lookup(const std::vector<Landmark>& clip) {
  std::map<Hash, std::vector<std::int32_t>> offsets;  // clip offsets of each distinct hash
  for (const auto& l : clip)
    offsets[l.hash].push_back(l.offset);
  LookupResult result;
  result.distinct_hashes = static_cast<int>(offsets.size());
  if (offsets.empty()) return result;
  auto db = pool_.acquire();
  auto it = offsets.begin();
  while (it != offsets.end()) {
    std::string sql = "SELECT hash, song_id, \"offset\" FROM fingerprints WHERE hash IN (";
    for (std::size_t n = 0; n < kSqlBatch && it != offsets.end(); ++n, ++it) {
      if (n > 0) sql += ',';
      sql += '\'' + to_bytea_hex(it->first) + '\'';
    }
    sql += ')';
    auto rows = timed(db, sql, "lookup");
    for (int row = 0; row < rows.rows(); ++row) {
      Hash hash;
      if (!from_bytea_hex(rows.value(row, 0), &hash)) {
        throw pg::PgError("unexpected bytea text from PostgreSQL (bytea_output must be hex)");
      }
      auto found = offsets.find(hash);
      if (found == offsets.end()) continue;
      std::int32_t song_id = to_int(rows.value(row, 1));
      std::int32_t song_offset = to_int(rows.value(row, 2));
      for (auto clip_offset : found->second)
        result.hits.push_back({song_id, song_offset, clip_offset});
    }
  }
  return result;
}

std::optional<std::string> SongStore::song_name(std::int32_t song_id) {
  auto db = pool_.acquire();
  auto r =
      timed(db, "SELECT song_name FROM songs WHERE song_id = " + std::to_string(song_id), "other");
  if (r.rows() == 0) return std::nullopt;
  return std::string(r.value(0, 0));
}

std::vector<StoredSong> SongStore::fingerprinted_songs() {
  auto db = pool_.acquire();
  auto r = timed(
      db, "SELECT song_id, song_name FROM songs WHERE fingerprinted = 1 ORDER BY song_id", "other");
  std::vector<StoredSong> songs;
  songs.reserve(static_cast<std::size_t>(r.rows()));
  for (int row = 0; row < r.rows(); ++row)
    songs.push_back({to_int(r.value(row, 0)), std::string(r.value(row, 1))});
  return songs;
}

}  // namespace afp::workload
