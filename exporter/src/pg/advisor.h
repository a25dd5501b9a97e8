#pragma once

// The database advisor behind `db report` and `db optimize`: reads the catalog and the
// statistics views into a DatabaseSnapshot (load_snapshot, in advisor_snapshot.cpp, and, for the
// scans of the last few seconds, pg/scan_window.h: the only parts that talk SQL), judges it
// (evaluate, pure) and turns the findings into the safe actions optimize may run (make_plan, pure).

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/severity.h"
#include "core/thresholds.h"
#include "pg/connection.h"
#include "pg/scan_window.h"

namespace afp::pg {

struct AdvisorSettings {
  std::string fingerprint_table = "fingerprints";  // as to_regclass() reads it
  std::string hash_column = "hash";
  // Statistics older than this are stale when rows changed since.
  std::chrono::milliseconds stale_analyze_age{std::chrono::hours(24 * core::kStaleAnalyzeAgeDays)};
  // Statements of these roles are not the app's: left out (pg/excluded_roles.h).
  std::vector<std::string> exclude_users;
  // How long after PostgreSQL started its cache hit ratio is not judged.
  std::chrono::seconds cache_settle{core::kCacheHitSettleSeconds};
};

// The rules' constants: the judgement `status` and the alerting rules share lives in
// core/thresholds.h; what only the advisor judges is here (the unit tests pin them).
inline constexpr double kStaleModifiedRatio = core::kStaleModifiedRatio;
inline constexpr std::int64_t kStaleMinRows = core::kStaleMinRows;
inline constexpr double kDeadRowRatio = core::kDeadRowRatio.warning;  // n_dead / all >= 10 %
inline constexpr std::int64_t kDeadMinRows = core::kDeadRowMinRows;
inline constexpr double kCacheHitRatio = core::kCacheHitRatio.warning;  // below: warning
// Sequential scans of the fingerprint table within the window before they are judged: a
// single one is as likely an ad-hoc query as a look-up. (A parallel scan counts once per
// process, so one parallel look-up already counts 3.)
inline constexpr std::int64_t kWindowSeqScanMin = 2;
// Below this many live rows a sequential scan is the planner's choice, not a fault.
inline constexpr std::int64_t kSeqScanMinRows = core::kSeqScanMinLiveRows;
inline constexpr std::size_t kMaxStatementFindings = 10;
inline constexpr std::size_t kStatementTextMax = 200;

// ---------------------------------------------------------------------------------------
// What load_snapshot reads. Names come quoted by the server (quote_ident), ready for SQL.

struct TableStats {
  std::string schema, name;  // raw
  std::string sql_name;      // quoted, schema-qualified unless "public"
  std::int64_t n_live_tup = 0, n_dead_tup = 0, n_mod_since_analyze = 0;
  // Since the statistics were reset: history, never judged (the window is, see ScanWindow).
  std::int64_t seq_scan = 0, seq_tup_read = 0, idx_scan = 0;
  std::int64_t size_bytes = 0;
  std::optional<double> analyze_age_s;  // since max(last_analyze, last_autoanalyze)
  std::optional<double> autovacuum_age_s;
  std::optional<double> vacuum_age_s;
  bool autovacuum_enabled = true;  // the table's reloption; the server setting is separate
  bool owner = false;              // the current role owns it (or is a superuser): CREATE INDEX
  bool can_maintain = false;       // the current role may VACUUM and ANALYZE it
};

struct IndexInfo {
  std::string schema, table, name;  // raw
  std::string sql_name;             // quoted, schema-qualified unless "public"
  std::string table_sql_name;
  std::string method;        // btree, hash, ...
  std::string first_column;  // raw attname; "" for an expression
  bool valid = true;         // indisvalid && indisready
  bool unique = false, primary = false, constraint = false, partial = false;
  std::int64_t idx_scan = 0;
  std::int64_t size_bytes = 0;
  std::string definition;  // pg_get_indexdef
};

struct StatementStats {
  std::string queryid;
  std::string query;  // whitespace collapsed, at most kStatementTextMax characters
  std::int64_t calls = 0;
  double mean_seconds = 0, total_seconds = 0;
  std::int64_t rows = 0;
};

struct DatabaseSnapshot {
  std::string database;
  std::string user;  // current_user
  int server_version = 0;
  std::optional<double> stats_reset_age_s;  // null: never reset since the cluster started
  std::optional<double> server_uptime_s;    // since pg_postmaster_start_time()

  // The fingerprint table, resolved.
  std::string fp_schema, fp_table, fp_schema_sql, fp_sql_name;
  std::string hash_column, hash_column_sql;
  std::string target_index, target_index_sql;  // ix_<table>_<column>, raw and quoted
  // What already holds target_index's name in the table's schema: "" (nothing), "index"
  // (a valid index), "invalid index", or another relation kind ("table", "view", ...).
  std::string target_name_taken;

  std::vector<TableStats> tables;
  std::vector<IndexInfo> indexes;
  // nullopt when pg_stat_statements cannot be read; statements_unavailable says why.
  std::optional<std::vector<StatementStats>> statements;
  std::string statements_unavailable;
  std::string statements_view;  // quoted, schema-qualified; "" when unavailable

  // How the fingerprint table was scanned within a window of a few seconds (see
  // pg/scan_window.h); nullopt when not watched: the scan findings are then left out.
  std::optional<ScanWindow> window;
};

// A failed read: the fingerprint table or hash column does not exist, or a view failed.
class AdvisorError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads everything evaluate needs but the window. Throws AdvisorError or PgError.
DatabaseSnapshot load_snapshot(Connection& conn, const AdvisorSettings& settings,
                               Clock::time_point deadline);

// What sample_scans reads for this snapshot's fingerprint table.
ScanTarget scan_target(const DatabaseSnapshot& snap, const AdvisorSettings& settings);

// ---------------------------------------------------------------------------------------
// Findings and the plan.

enum class ActionKind { Analyze, VacuumAnalyze, CreateIndex };

// One safe statement optimize may run: one SQL statement, outside any transaction block.
struct Action {
  ActionKind kind;
  std::string table;  // raw schema.table: actions on one table are merged by it
  std::string sql;
  bool permitted = true;  // the current role can run it (owns the table)
};

struct Finding {
  std::string id;       // hash_index_missing, lookup_type_mismatch, seq_scan_small_table,
                        // hash_index_unused, lookups_not_judged, invalid_index, unused_index,
                        // stale_statistics, dead_rows, slow_statement, pg_stat_statements_missing,
                        // cache_hit_ratio, cache_hit_not_judged
  std::string subject;  // what it is about: schema.table, schema.index, a queryid, a database
  core::Severity severity = core::Severity::Info;  // Info, Warning or Critical
  std::string title;
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();
  std::string fix_sql;           // "" when there is no SQL fix
  std::string note;              // why, what to check; "" when the title says it all
  std::optional<Action> action;  // what optimize does about it, if anything
  std::string blocked;           // why optimize will not do its action, "" when it will
};

std::vector<Finding> evaluate(const DatabaseSnapshot& snap, const AdvisorSettings& settings);

// The pieces of evaluate, exposed for the unit tests.
bool statistics_stale(const TableStats& t, std::chrono::milliseconds max_age);
bool dead_rows_high(const TableStats& t);
// Judged as AfpPostgresCacheHitLow and `status` judge it: only at
// core::kCacheHitMinBlocksPerSecond block accesses a second or more, over `seconds`.
bool cache_ratio_low(std::int64_t blks_hit, std::int64_t blks_read, double seconds);
bool is_maintenance_statement(std::string_view query);  // VACUUM, CREATE INDEX, ... not judged
// "CREATE [UNIQUE] INDEX name ON ..." → "CREATE [UNIQUE] INDEX CONCURRENTLY name ON ...".
std::string concurrently(std::string_view index_definition);

struct PlannedAction {
  Action action;
  std::vector<std::string> finding_ids;  // the findings it resolves
};

struct Plan {
  std::vector<PlannedAction> actions;  // in order: the look-up index first, then tables
  // Findings whose action optimize will not run, with the reason (the user decides).
  std::vector<const Finding*> blocked;
};

// One action per table at most: VACUUM (ANALYZE) covers ANALYZE.
Plan make_plan(const std::vector<Finding>& findings);

// 0 no findings or only info, 1 any warning or critical.
int report_exit_code(const std::vector<Finding>& findings);

}  // namespace afp::pg
