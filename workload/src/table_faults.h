#pragma once

// The SQL of the two faults that age the fingerprints table's statistics, as a table with
// autovacuum switched off ages:
//   dead-rows=RATIO    that share of the rows is updated in place to the same values; each
//                      update leaves a dead tuple, so n_dead_tup / (n_live_tup + n_dead_tup)
//                      rises to RATIO / (1 + RATIO)
//   stale-stats=RATIO  RATIO x the live rows are added for a song of their own whose hashes
//                      no clip can have, so n_mod_since_analyze passes RATIO / (1 + RATIO)
//                      of n_live_tup while n_dead_tup stays where it was
// Both switch autovacuum (and with it autoanalyze) off for the table, or the server would
// undo them within a minute. Each statement runs in a transaction of its own: VACUUM must.

#include <string>
#include <vector>

namespace afp::workload {

// The song the stale-stats rows belong to (fingerprinted = 0: the identify load never
// picks it, and its rows are found and deleted through it).
inline constexpr const char* kStaleStatsSong = "afp-fault-stale-stats";

std::vector<std::string> dead_rows_on(double ratio);
// `stale_stats_on`: the other fault still needs autovacuum off and its statistics stale.
std::vector<std::string> dead_rows_off(bool stale_stats_on);
std::vector<std::string> stale_stats_on(double ratio);
// `dead_rows_on`: the other fault still needs autovacuum off and its dead tuples.
std::vector<std::string> stale_stats_off(bool dead_rows_on);

}  // namespace afp::workload
