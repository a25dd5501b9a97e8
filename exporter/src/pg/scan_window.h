#pragma once

// How the fingerprint table is scanned now rather than since the statistics were reset.
// pg_stat_user_tables and pg_stat_user_indexes count since the last reset, so right after
// the look-up index is built they still hold every sequential scan made before it existed.
// PostgreSQL 15 records neither when an index was built nor when a table was last scanned
// (last_seq_scan arrives in 16), so the only honest measure that works everywhere is the
// difference between two samples taken a few seconds apart: the window.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "pg/connection.h"

namespace afp::pg {

// What a sample reads: the table, its look-up indexes and where pg_stat_statements is.
struct ScanTarget {
  std::string schema, table;                // raw
  std::string column;                       // raw: the hash column look-ups compare
  std::vector<std::string> lookup_indexes;  // raw names of the indexes that serve look-ups
  std::string statements_view;  // quoted, schema-qualified; "" when pg_stat_statements is out
  std::vector<std::string> exclude_users;  // their statements are not the app's look-ups
};

// A pg_stat_statements entry (summed over roles) whose condition reads the hash column as
// text (pg/text_comparison.h).
struct TextLookup {
  std::string queryid;
  std::string query;  // redacted, whitespace collapsed, at most kStatementTextMax characters
  std::int64_t calls = 0;
};

struct ScanSample {
  std::chrono::steady_clock::time_point taken;
  std::int64_t seq_scan = 0, seq_tup_read = 0;
  std::int64_t idx_scan = 0;         // the table's, over all its indexes
  std::int64_t lookup_idx_scan = 0;  // the look-up indexes' only
  bool statements_read = false;      // text_lookups holds pg_stat_statements' entries
  std::vector<TextLookup> text_lookups;
  std::int64_t blks_hit = 0, blks_read = 0;  // the database's (pg_stat_database)
};

// The difference between two samples.
struct ScanWindow {
  double seconds = 0;
  std::int64_t seq_scan = 0, seq_tup_read = 0, idx_scan = 0, lookup_idx_scan = 0;
  // The database's block accesses: the cache hit ratio now, as AfpPostgresCacheHitLow's
  // rate sees it, not since the reset.
  std::int64_t blks_hit = 0, blks_read = 0;
  // A counter went backwards: the statistics were reset within the window (all zero then).
  bool counters_reset = false;
  bool statements_read = false;
  std::vector<TextLookup> text_lookups;  // those called within the window; calls = how often
};

// Reads the counters now. Throws PgError, or AdvisorError when the table is gone.
ScanSample sample_scans(Connection& conn, const ScanTarget& target, Clock::time_point deadline);

ScanWindow window_between(const ScanSample& before, const ScanSample& after);

}  // namespace afp::pg
