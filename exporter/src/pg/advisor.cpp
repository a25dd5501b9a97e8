#include "pg/advisor.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include "core/thresholds.h"
#include "pg/sql_literal.h"

namespace afp::pg {

// Judging a snapshot (load_snapshot, the reading, is in advisor_snapshot.cpp): all pure.

bool statistics_stale(const TableStats& t, std::chrono::milliseconds max_age) {
  const auto mod = t.n_mod_since_analyze;
  if (mod >= kStaleMinRows &&
      static_cast<double>(mod) > kStaleModifiedRatio * static_cast<double>(t.n_live_tup)) {
    return true;
  }
  // Never analyzed: stale once the table holds enough rows to matter to the planner.
  if (!t.analyze_age_s) return t.n_live_tup >= kStaleMinRows;
  // Old statistics are stale only when rows changed since: an unchanged table's are exact.
  return mod > 0 && *t.analyze_age_s * 1000.0 > static_cast<double>(max_age.count());
}

bool dead_rows_high(const TableStats& t) {
  if (t.n_dead_tup < kDeadMinRows) return false;
  double all = static_cast<double>(t.n_live_tup) + static_cast<double>(t.n_dead_tup);
  return static_cast<double>(t.n_dead_tup) / all >= kDeadRowRatio;
}

bool cache_ratio_low(std::int64_t blks_hit, std::int64_t blks_read, double seconds) {
  auto all = static_cast<double>(blks_hit) + static_cast<double>(blks_read);
  if (!(seconds > 0) || all / seconds < core::kCacheHitMinBlocksPerSecond) return false;
  return static_cast<double>(blks_hit) / all < kCacheHitRatio;
}

bool is_maintenance_statement(std::string_view query) {
  auto start = query.find_first_not_of(" \t\r\n(");
  if (start == std::string_view::npos) return false;
  std::string word;
  for (auto i = start; i < query.size() && std::isalpha(static_cast<unsigned char>(query[i]));
       ++i) {
    word += static_cast<char>(std::toupper(static_cast<unsigned char>(query[i])));
  }
  static const std::set<std::string, std::less<>> kMaintenance{
      "VACUUM",  "ANALYZE", "ANALYSE",    "CREATE",   "ALTER", "DROP",   "REINDEX",
      "CLUSTER", "REFRESH", "CHECKPOINT", "TRUNCATE", "GRANT", "REVOKE", "COMMENT"};
  return kMaintenance.count(word) > 0;
}

std::string concurrently(std::string_view definition) {
  std::string def(definition);
  if (def.find(" CONCURRENTLY ") != std::string::npos) return def;
  auto pos = def.find(" INDEX ");
  if (pos == std::string::npos) return def;
  return def.insert(pos + 6, " CONCURRENTLY");
}

namespace {

using json = nlohmann::ordered_json;

json age(const std::optional<double>& seconds) {
  return seconds ? json(static_cast<std::int64_t>(std::llround(*seconds))) : json(nullptr);
}

double rounded(double v, int digits = 4) {
  double f = std::pow(10.0, digits);
  return std::round(v * f) / f;
}

std::string percent(double ratio) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %%", ratio * 100);
  return buf;
}

std::string seconds_text(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f s", s);
  return buf;
}

const TableStats* find_table(const DatabaseSnapshot& snap, const std::string& schema,
                             const std::string& name) {
  for (const auto& t : snap.tables) {
    if (t.schema == schema && t.name == name) return &t;
  }
  return nullptr;
}

bool is_lookup_index(const DatabaseSnapshot& snap, const IndexInfo& x) {
  return x.schema == snap.fp_schema && x.table == snap.fp_table && x.valid && !x.partial &&
         x.first_column == snap.hash_column && (x.method == "hash" || x.method == "btree");
}

std::string window_text(double seconds) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.1f s window", seconds);
  return buf;
}

// What the window saw, in every scan finding's evidence.
void add_window_evidence(json& evidence, const ScanWindow& w) {
  evidence["window_seconds"] = rounded(w.seconds, 1);
  evidence["seq_scans_in_window"] = w.seq_scan;
  evidence["seq_tup_read_in_window"] = w.seq_tup_read;
  evidence["lookup_index_scans_in_window"] = w.lookup_idx_scan;
}

void report_missing_lookup_index(const DatabaseSnapshot& snap, const TableStats* fp,
                                 const json& unusable, std::vector<Finding>& out) {
  const std::string subject = snap.fp_schema + "." + snap.fp_table;
  Finding f;
  f.id = "hash_index_missing";
  f.subject = subject;
  f.severity = core::Severity::Critical;
  f.title = "no index serves fingerprint look-ups: " + snap.fp_sql_name + " has no valid index " +
            "whose first column is " + snap.hash_column_sql;
  f.evidence["cause"] = "missing_index";
  f.evidence["table"] = snap.fp_sql_name;
  f.evidence["column"] = snap.hash_column;
  if (fp) {
    f.evidence["n_live_tup"] = fp->n_live_tup;
    f.evidence["table_size_bytes"] = fp->size_bytes;
  }
  if (snap.window) add_window_evidence(f.evidence, *snap.window);
  if (!unusable.empty()) f.evidence["unusable_indexes"] = unusable;
  const std::string create = "CREATE INDEX CONCURRENTLY " + snap.target_index_sql + " ON " +
                             snap.fp_sql_name + " USING hash (" + snap.hash_column_sql + ");";
  const std::string qualified_target =
      (snap.fp_schema == "public" ? "" : snap.fp_schema_sql + ".") + snap.target_index_sql;
  f.note =
      "Every look-up reads the whole table (a parallel sequential scan), and gets slower as it "
      "grows. CONCURRENTLY builds the index without blocking inserts.";
  f.action = Action{ActionKind::CreateIndex, subject, create, fp ? fp->owner : false};
  if (snap.target_name_taken.empty()) {
    f.fix_sql = create;
  } else if (snap.target_name_taken == "invalid index") {
    f.fix_sql = "DROP INDEX CONCURRENTLY " + qualified_target + "; " + create;
    f.blocked = "an INVALID index named " + snap.target_index +
                " exists (left by a failed CREATE INDEX CONCURRENTLY?): optimize neither "
                "reuses nor drops it; drop it yourself, then run optimize again";
  } else {
    f.blocked = "a " + snap.target_name_taken + " named " + snap.target_index +
                " already exists: create the index under another name";
  }
  out.push_back(std::move(f));
}

// Nothing to judge in the window: say so rather than judge the history.
Finding lookups_not_judged(const DatabaseSnapshot& snap, const ScanWindow& w, Finding f) {
  f.id = "lookups_not_judged";
  f.severity = core::Severity::Info;
  f.evidence.erase("cause");
  f.title = "fingerprint look-ups not judged: " +
            (w.counters_reset
                 ? "the statistics were reset during the " + window_text(w.seconds)
                 : "no scan of " + snap.fp_sql_name + " during the " + window_text(w.seconds));
  f.note =
      "The scan counters count since the statistics were reset, so only what changes within "
      "the window tells how look-ups run now. Run the report while the app serves look-ups, or "
      "with a longer --window.";
  return f;
}

Finding type_mismatch(const DatabaseSnapshot& snap, const ScanWindow& w, const std::string& index,
                      Finding f) {
  f.id = "lookup_type_mismatch";
  f.severity = core::Severity::Warning;
  f.evidence["cause"] = "type_mismatch";
  f.title = "look-ups compare " + snap.hash_column_sql + " as text, so they scan " +
            snap.fp_sql_name + " sequentially instead of using " + index;
  json ids = json::array();
  std::int64_t calls = 0;
  for (const auto& t : w.text_lookups) {
    ids.push_back(t.queryid);
    calls += t.calls;
  }
  f.evidence["queryids"] = ids;
  f.evidence["calls_in_window"] = calls;
  f.evidence["query"] = w.text_lookups.front().query;
  f.note = "The index holds bytea values; a condition on " + snap.hash_column_sql + "::text or " +
           "encode(" + snap.hash_column_sql +
           ", ...) cannot use it, so each such look-up reads the whole table. Compare the "
           "column itself with bytea values in the app: WHERE " +
           snap.hash_column_sql + " IN (decode($1, 'hex'), ...).";
  return f;
}

Finding small_table(const DatabaseSnapshot& snap, const TableStats& fp, Finding f) {
  f.id = "seq_scan_small_table";
  f.severity = core::Severity::Info;
  f.evidence["cause"] = "small_table";
  f.title = "look-ups scan " + snap.fp_sql_name + " (" + std::to_string(fp.n_live_tup) +
            " rows) sequentially: the planner's choice for a table this small";
  f.note =
      "Reading a few pages in order costs less than the index. The planner turns to the "
      "index as the table grows; nothing to do below " +
      std::to_string(kSeqScanMinRows) + " rows.";
  return f;
}

Finding unexplained(const DatabaseSnapshot& snap, const ScanWindow& w, const std::string& index,
                    Finding f) {
  f.id = "hash_index_unused";
  f.severity = core::Severity::Warning;
  f.evidence["cause"] = "unknown";
  f.title =
      "fingerprint look-ups scan " + snap.fp_sql_name + " sequentially instead of using " + index;
  f.note = (w.statements_read ? "No statement in pg_stat_statements compares " +
                                    snap.hash_column_sql + " as text. "
                              : "pg_stat_statements is not available, so text comparisons of " +
                                    snap.hash_column_sql + " were not checked. ") +
           "Run ANALYZE " + snap.fp_sql_name +
           " if its statistics are stale, EXPLAIN one look-up, and check the planner settings "
           "(enable_indexscan, enable_bitmapscan, random_page_cost).";
  return f;
}

// How look-ups scan the table now, judged from the window, with the likely cause.
void judge_lookup_scans(const DatabaseSnapshot& snap, const TableStats& fp,
                        const std::vector<const IndexInfo*>& lookup, std::vector<Finding>& out) {
  if (!snap.window) return;
  const ScanWindow& w = *snap.window;
  Finding f;
  f.subject = snap.fp_schema + "." + snap.fp_table;
  f.evidence["cause"] = nullptr;
  f.evidence["table"] = snap.fp_sql_name;
  json names = json::array();
  for (const auto* x : lookup)
    names.push_back(x->name);
  f.evidence["indexes"] = names;
  add_window_evidence(f.evidence, w);
  f.evidence["n_live_tup"] = fp.n_live_tup;
  const std::string index = lookup.front()->sql_name;
  if (w.counters_reset || (w.seq_scan == 0 && w.idx_scan == 0)) {
    out.push_back(lookups_not_judged(snap, w, std::move(f)));
  } else if (!w.text_lookups.empty() && w.seq_scan > 0) {
    out.push_back(type_mismatch(snap, w, index, std::move(f)));
  } else if (w.seq_scan < kWindowSeqScanMin || w.seq_scan <= w.lookup_idx_scan) {
    return;  // look-ups use the index
  } else if (fp.n_live_tup < kSeqScanMinRows) {
    out.push_back(small_table(snap, fp, std::move(f)));
  } else {
    out.push_back(unexplained(snap, w, index, std::move(f)));
  }
}

void check_lookup_index(const DatabaseSnapshot& snap, std::vector<Finding>& out) {
  const TableStats* fp = find_table(snap, snap.fp_schema, snap.fp_table);
  std::vector<const IndexInfo*> lookup;
  json unusable = json::array();
  for (const auto& x : snap.indexes) {
    if (is_lookup_index(snap, x)) {
      lookup.push_back(&x);
    } else if (x.schema == snap.fp_schema && x.table == snap.fp_table &&
               x.first_column == snap.hash_column) {
      unusable.push_back(x.name + (!x.valid    ? " (INVALID)"
                                   : x.partial ? " (partial)"
                                               : " (" + x.method + ")"));
    }
  }
  if (lookup.empty()) {
    report_missing_lookup_index(snap, fp, unusable, out);
  } else if (fp) {
    judge_lookup_scans(snap, *fp, lookup, out);
  }
}

void check_invalid_indexes(const DatabaseSnapshot& snap, std::vector<Finding>& out) {
  for (const auto& x : snap.indexes) {
    if (x.valid) continue;
    Finding f;
    f.id = "invalid_index";
    f.subject = x.schema + "." + x.name;
    f.severity = core::Severity::Warning;
    f.title = "index " + x.sql_name + " on " + x.table_sql_name +
              " is INVALID (a failed CREATE INDEX CONCURRENTLY?)";
    f.evidence["index"] = x.sql_name;
    f.evidence["table"] = x.table_sql_name;
    f.evidence["definition"] = x.definition;
    f.evidence["size_bytes"] = x.size_bytes;
    f.fix_sql = "DROP INDEX CONCURRENTLY " + x.sql_name + "; " + concurrently(x.definition) + ";";
    f.note =
        "Queries never read it, but writes may still maintain it. optimize neither reuses nor "
        "drops it.";
    if (x.unique) {
      f.note += " It is UNIQUE: the build probably failed on duplicate values; remove them first.";
    }
    if (x.schema == snap.fp_schema && x.table == snap.fp_table &&
        x.first_column == snap.hash_column) {
      f.note +=
          " It was meant for fingerprint look-ups: see hash_index_missing for the index "
          "they need.";
    }
    out.push_back(std::move(f));
  }
}

void check_unused_indexes(const DatabaseSnapshot& snap, std::vector<Finding>& out) {
  for (const auto& x : snap.indexes) {
    if (!x.valid || x.idx_scan != 0 || x.unique || x.primary || x.constraint) continue;
    if (is_lookup_index(snap, x)) continue;  // never suggest dropping the look-up index
    Finding f;
    f.id = "unused_index";
    f.subject = x.schema + "." + x.name;
    f.severity = core::Severity::Info;
    f.title = "index " + x.sql_name + " on " + x.table_sql_name +
              " has not been used since the statistics were reset";
    f.evidence["index"] = x.sql_name;
    f.evidence["table"] = x.table_sql_name;
    f.evidence["idx_scan"] = x.idx_scan;
    f.evidence["size_bytes"] = x.size_bytes;
    f.evidence["stats_reset_age_seconds"] = age(snap.stats_reset_age_s);
    f.fix_sql = "DROP INDEX CONCURRENTLY " + x.sql_name + ";";
    f.note =
        "It costs every write and its disk space. Statistics are per server: check replicas and "
        "rare jobs before dropping. optimize never drops indexes.";
    out.push_back(std::move(f));
  }
}

void check_tables(const DatabaseSnapshot& snap, const AdvisorSettings& s,
                  std::vector<Finding>& out) {
  for (const auto& t : snap.tables) {
    const std::string subject = t.schema + "." + t.name;
    if (statistics_stale(t, s.stale_analyze_age)) {
      Finding f;
      f.id = "stale_statistics";
      f.subject = subject;
      f.severity = core::Severity::Warning;
      double ratio = t.n_live_tup > 0 ? static_cast<double>(t.n_mod_since_analyze) /
                                            static_cast<double>(t.n_live_tup)
                                      : 0;
      f.title = "statistics of " + t.sql_name + " are stale: " +
                (t.analyze_age_s ? std::to_string(t.n_mod_since_analyze) +
                                       " rows modified since the last ANALYZE"
                                 : std::string("never analyzed"));
      f.evidence["table"] = t.sql_name;
      f.evidence["n_live_tup"] = t.n_live_tup;
      f.evidence["n_mod_since_analyze"] = t.n_mod_since_analyze;
      f.evidence["modified_ratio"] = rounded(ratio);
      f.evidence["last_analyze_age_seconds"] = age(t.analyze_age_s);
      f.evidence["stale_analyze_age_seconds"] = s.stale_analyze_age.count() / 1000;
      f.fix_sql = "ANALYZE " + t.sql_name + ";";
      f.note = "The planner estimates from these statistics; stale ones give bad plans.";
      f.action = Action{ActionKind::Analyze, subject, f.fix_sql, t.can_maintain};
      out.push_back(std::move(f));
    }
    if (dead_rows_high(t)) {
      Finding f;
      f.id = "dead_rows";
      f.subject = subject;
      f.severity = core::Severity::Warning;
      double ratio = static_cast<double>(t.n_dead_tup) /
                     (static_cast<double>(t.n_live_tup) + static_cast<double>(t.n_dead_tup));
      f.title = t.sql_name + " has " + percent(ratio) + " dead rows";
      f.evidence["table"] = t.sql_name;
      f.evidence["n_dead_tup"] = t.n_dead_tup;
      f.evidence["n_live_tup"] = t.n_live_tup;
      f.evidence["dead_ratio"] = rounded(ratio);
      f.evidence["last_vacuum_age_seconds"] = age(t.vacuum_age_s);
      f.evidence["last_autovacuum_age_seconds"] = age(t.autovacuum_age_s);
      f.evidence["autovacuum_enabled"] = t.autovacuum_enabled;
      f.fix_sql = "VACUUM (ANALYZE) " + t.sql_name + ";";
      if (!t.autovacuum_enabled) {
        f.note = "Autovacuum is off for this table (autovacuum_enabled = false).";
      } else if (!t.autovacuum_age_s) {
        f.note = "Autovacuum has not vacuumed it since the statistics were reset: it is lagging ";
        f.note += "(check autovacuum is on, its cost limits, and long-running transactions).";
      } else {
        f.note =
            "Autovacuum is lagging: check its cost limits, the table's scale factor and "
            "long-running transactions.";
      }
      f.action = Action{ActionKind::VacuumAnalyze, subject, f.fix_sql, t.can_maintain};
      out.push_back(std::move(f));
    }
  }
}

void check_statements(const DatabaseSnapshot& snap, std::vector<Finding>& out) {
  if (!snap.statements) {
    Finding f;
    f.id = "pg_stat_statements_missing";
    f.subject = snap.database;
    f.severity = core::Severity::Info;
    f.title = "statement times not checked: pg_stat_statements is not available";
    f.evidence["reason"] = snap.statements_unavailable;
    if (snap.statements_unavailable.find("not installed") != std::string::npos) {
      f.fix_sql = "CREATE EXTENSION pg_stat_statements;";
    }
    f.note = "It also needs shared_preload_libraries = 'pg_stat_statements' (a server restart).";
    out.push_back(std::move(f));
    return;
  }
  std::vector<const StatementStats*> slow;
  for (const auto& st : *snap.statements) {
    if (is_maintenance_statement(st.query)) continue;
    if (core::level_of(core::kDbQueryP95, st.mean_seconds) == core::Severity::Ok) continue;
    slow.push_back(&st);
  }
  std::stable_sort(slow.begin(), slow.end(),
                   [](const auto* a, const auto* b) { return a->mean_seconds > b->mean_seconds; });
  for (std::size_t i = 0; i < slow.size() && i < kMaxStatementFindings; ++i) {
    const auto& st = *slow[i];
    Finding f;
    f.id = "slow_statement";
    f.subject = st.queryid;
    f.severity = core::level_of(core::kDbQueryP95, st.mean_seconds) == core::Severity::Critical
                     ? core::Severity::Critical
                     : core::Severity::Warning;
    f.title = "statement " + st.queryid + " takes " + seconds_text(st.mean_seconds) + " on average";
    f.evidence["queryid"] = st.queryid;
    f.evidence["calls"] = st.calls;
    f.evidence["mean_seconds"] = rounded(st.mean_seconds);
    f.evidence["total_seconds"] = rounded(st.total_seconds, 3);
    f.evidence["rows"] = st.rows;
    f.evidence["warning_seconds"] = core::kDbQueryP95.warning;
    f.evidence["critical_seconds"] = core::kDbQueryP95.critical;
    f.evidence["query"] = st.query;
    f.note = "EXPLAIN (ANALYZE, BUFFERS) it with typical parameters.";
    if (slow.size() > kMaxStatementFindings && i + 1 == kMaxStatementFindings) {
      f.note += " " + std::to_string(slow.size() - kMaxStatementFindings) +
                " more slow statements are not listed.";
    }
    out.push_back(std::move(f));
  }
}

// A low ratio in the first minutes after PostgreSQL started is its shared buffers filling,
// as the alert and `status` hold it back: said, so that nobody takes it for a verdict.
Finding cache_not_judged(const DatabaseSnapshot& snap, const AdvisorSettings& settings,
                         double ratio, Finding f) {
  f.id = "cache_hit_not_judged";
  f.severity = core::Severity::Info;
  f.title = "cache hit ratio of database " + snap.database + " is " + percent(ratio) +
            ", but PostgreSQL started " + std::to_string(std::lround(*snap.server_uptime_s)) +
            " s ago";
  f.evidence["server_uptime_seconds"] = rounded(*snap.server_uptime_s);
  f.note = "The cache is still filling; run the report again " +
           std::to_string(settings.cache_settle.count()) + " s after the start to judge it.";
  return f;
}

// Over the window, as the alert's 5-minute rate and `status` judge it: a ratio since the
// statistics reset still carries the cold reads of a start long past.
void check_cache(const DatabaseSnapshot& snap, const AdvisorSettings& settings,
                 std::vector<Finding>& out) {
  const auto& unjudged = core::kUnjudgedDatabases;
  if (std::find(unjudged.begin(), unjudged.end(), snap.database) != unjudged.end()) return;
  if (!snap.window || snap.window->counters_reset) return;
  const auto& w = *snap.window;
  if (!cache_ratio_low(w.blks_hit, w.blks_read, w.seconds)) return;
  double accesses = static_cast<double>(w.blks_hit + w.blks_read);
  double ratio = static_cast<double>(w.blks_hit) / accesses;
  Finding f;
  f.id = "cache_hit_ratio";
  f.subject = snap.database;
  f.severity = core::Severity::Warning;
  f.title = "cache hit ratio of database " + snap.database + " is " + percent(ratio) + " (below " +
            percent(kCacheHitRatio) + ")";
  f.evidence["blks_hit_in_window"] = w.blks_hit;
  f.evidence["blks_read_in_window"] = w.blks_read;
  f.evidence["blocks_per_second"] = rounded(accesses / w.seconds);
  f.evidence["window_seconds"] = rounded(w.seconds);
  f.evidence["hit_ratio"] = rounded(ratio);
  f.evidence["stats_reset_age_seconds"] = age(snap.stats_reset_age_s);
  auto settle = static_cast<double>(settings.cache_settle.count());
  if (snap.server_uptime_s && *snap.server_uptime_s < settle) {
    return out.push_back(cache_not_judged(snap, settings, ratio, std::move(f)));
  }
  f.note =
      "shared_buffers may be too small for the working set (the fingerprint hash index should "
      "fit), or full scans flush the cache.";
  out.push_back(std::move(f));
}

}  // namespace

ScanTarget scan_target(const DatabaseSnapshot& snap, const AdvisorSettings& settings) {
  ScanTarget t{snap.fp_schema,       snap.fp_table,         snap.hash_column, {},
               snap.statements_view, settings.exclude_users};
  for (const auto& x : snap.indexes) {
    if (is_lookup_index(snap, x)) t.lookup_indexes.push_back(x.name);
  }
  return t;
}

std::vector<Finding> evaluate(const DatabaseSnapshot& snap, const AdvisorSettings& settings) {
  std::vector<Finding> out;
  check_lookup_index(snap, out);
  check_invalid_indexes(snap, out);
  check_tables(snap, settings, out);
  check_statements(snap, out);
  check_cache(snap, settings, out);
  check_unused_indexes(snap, out);
  std::stable_sort(out.begin(), out.end(),
                   [](const Finding& a, const Finding& b) { return a.severity > b.severity; });
  return out;
}

Plan make_plan(const std::vector<Finding>& findings) {
  Plan plan;
  std::vector<PlannedAction> index_actions;
  std::map<std::string, PlannedAction> table_actions;  // by table: VACUUM (ANALYZE) wins
  for (const auto& f : findings) {
    if (!f.action) continue;
    if (!f.blocked.empty()) {
      plan.blocked.push_back(&f);
      continue;
    }
    if (f.action->kind == ActionKind::CreateIndex) {
      index_actions.push_back({*f.action, {f.id}});
      continue;
    }
    auto [it, fresh] = table_actions.try_emplace(f.action->table, PlannedAction{*f.action, {}});
    if (!fresh && f.action->kind == ActionKind::VacuumAnalyze) it->second.action = *f.action;
    it->second.finding_ids.push_back(f.id);
  }
  plan.actions = std::move(index_actions);
  for (auto& [table, planned] : table_actions)
    plan.actions.push_back(std::move(planned));
  return plan;
}

int report_exit_code(const std::vector<Finding>& findings) {
  for (const auto& f : findings) {
    if (core::is_problem(f.severity)) return 1;
  }
  return 0;
}

}  // namespace afp::pg
