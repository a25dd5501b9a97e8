#pragma once

// `afp_exporter profile --mode database`: the look-up it times (Dejavu's batched hash
// look-up) and what it reads from EXPLAIN (FORMAT JSON) of it. Pure functions.

#include <cstddef>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace afp::cli::profile {

// Dejavu's fingerprint hashes: the first 20 hex digits of a SHA-1, stored as 10 bytes.
inline constexpr std::size_t kHashBytes = 10;
// Dejavu looks hashes up in batches of 1000.
inline constexpr std::size_t kDefaultLookupHashes = 1000;

// `count` random hashes as lowercase hex. Random on purpose: they match (almost) nothing,
// so every run costs what a look-up costs, not what the cache happens to hold.
std::vector<std::string> random_hashes(std::mt19937_64& rng, std::size_t count);

// Dejavu's look-up (its PostgreSQL handler's SELECT_MULTIPLE), on `table` and `column` as
// SQL writes them (quoted where needed):
//   SELECT upper(encode(hash, 'hex')), song_id, "offset" FROM fingerprints
//   WHERE hash IN (decode('0a1b...', 'hex'), ...)
std::string lookup_sql(std::string_view table, std::string_view column,
                       const std::vector<std::string>& hex_hashes);

// One plan node that reads the fingerprint table.
struct PlanScan {
  std::string node;  // "Seq Scan", "Bitmap Heap Scan", "Index Scan", ...
  bool parallel = false;
  std::string index;     // the index an index scan uses; "" otherwise
  double plan_rows = 0;  // the planner's estimate, per loop
  // With ANALYZE only: rows returned and rows the filter removed, per loop, and loops.
  double actual_rows = 0, removed_rows = 0, loops = 0;
};

struct PlanFacts {
  bool analyzed = false;             // the plan carries run-time figures (EXPLAIN ANALYZE)
  std::vector<PlanScan> scans;       // the nodes reading the fingerprint table
  std::vector<std::string> indexes;  // every index the plan uses, in plan order
  // The whole plan's buffer use (BUFFERS), in blocks; 0 without it.
  double shared_hit_blocks = 0, shared_read_blocks = 0;
  double execution_ms = 0;

  // The first sequential scan (parallel or not) of the table; nullptr when none.
  const PlanScan* seq_scan() const;
};

// Walks the plan tree of EXPLAIN (FORMAT JSON) output for the nodes that read `table` in
// `schema` ("" matches any schema: the plan names it only with VERBOSE). Throws
// std::runtime_error when the text is not such output.
PlanFacts read_plan(std::string_view explain_json, std::string_view schema, std::string_view table);

// "Parallel Seq Scan", "Bitmap Heap Scan using ix_fingerprints_hash": a node as EXPLAIN's
// text format names it.
std::string describe(const PlanScan& scan);

}  // namespace afp::cli::profile
