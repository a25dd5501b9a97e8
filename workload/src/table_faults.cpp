#include "table_faults.h"

#include <cmath>

namespace afp::workload {

namespace {

const std::string kAutovacuumOff =
    "ALTER TABLE fingerprints SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)";
const std::string kAutovacuumReset =
    "ALTER TABLE fingerprints RESET (autovacuum_enabled, toast.autovacuum_enabled)";

// The counts of the statements before it reach pg_stat_user_tables as this statement
// ends, before the admin request answers, not a second or so later (PostgreSQL 15 and
// later; before that the statistics collector takes its half second anyway).
const std::string kFlushStats =
    "DO $$ BEGIN IF to_regproc('pg_stat_force_next_flush') IS NOT NULL THEN "
    "PERFORM pg_stat_force_next_flush(); END IF; END $$";

std::string quoted_marker() {
  return std::string("'") + kStaleStatsSong + "'";
}

}  // namespace

std::vector<std::string> dead_rows_on(double ratio) {
  // The first two hash bytes are uniform (the hashes are SHA-1 prefixes): a sample of that
  // share of the rows that is the same every time, without a sequential random() draw.
  auto below = static_cast<long>(std::lround(ratio * 65536));
  return {kAutovacuumOff,
          "UPDATE fingerprints SET song_id = song_id WHERE get_byte(hash, 0) * 256 + "
          "get_byte(hash, 1) < " +
              std::to_string(below),
          kFlushStats};
}

std::vector<std::string> dead_rows_off(bool stale_stats_on) {
  if (stale_stats_on) return {"VACUUM fingerprints"};
  return {"VACUUM ANALYZE fingerprints", kAutovacuumReset};
}

std::vector<std::string> stale_stats_on(double ratio) {
  // Fingerprint hashes are 10 bytes; these are 11 (0xff and a counter), so no look-up can
  // match them and identification answers as before.
  return {kAutovacuumOff,
          "DELETE FROM songs WHERE song_name = " + quoted_marker(),  // a crashed run's
          "WITH marker AS (INSERT INTO songs (song_name, fingerprinted) VALUES (" +
              quoted_marker() +
              ", 0) RETURNING song_id) "
              "INSERT INTO fingerprints (hash, song_id, \"offset\") "
              "SELECT decode('ff' || lpad(to_hex(g), 20, '0'), 'hex'), marker.song_id, g "
              "FROM marker, generate_series(1, (SELECT ceil(" +
              std::to_string(ratio) + " * count(*))::int FROM fingerprints)) g",
          kFlushStats};
}

std::vector<std::string> stale_stats_off(bool dead_rows_on) {
  // ON DELETE CASCADE takes the song's rows with it.
  // The deletions' counts flushed first: flushed after the VACUUM ANALYZE (as the session
  // ends), they would add the deleted rows back to n_dead_tup and n_mod_since_analyze.
  std::vector<std::string> out{"DELETE FROM songs WHERE song_name = " + quoted_marker(),
                               kFlushStats};
  if (dead_rows_on) {
    out.push_back("ANALYZE fingerprints");
  } else {
    out.push_back("VACUUM ANALYZE fingerprints");
    out.push_back(kAutovacuumReset);
  }
  return out;
}

}  // namespace afp::workload
