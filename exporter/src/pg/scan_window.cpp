#include "pg/scan_window.h"

#include <map>

#include "pg/advisor.h"
#include "pg/excluded_roles.h"
#include "pg/sql_literal.h"
#include "pg/sql_redact.h"
#include "pg/statement_merge.h"
#include "pg/text_comparison.h"

namespace afp::pg {

namespace {

std::string collapse_whitespace(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

void read_table_counters(Connection& conn, const ScanTarget& target, ScanSample& sample,
                         Clock::time_point deadline) {
  std::string names;
  for (const auto& name : target.lookup_indexes)
    names += (names.empty() ? "" : ", ") + sql_literal(name);
  const std::string lookup = names.empty() ? "false" : "i.indexrelname IN (" + names + ")";
  auto r = conn.query(
      "SELECT s.seq_scan, s.seq_tup_read, s.idx_scan, (SELECT sum(i.idx_scan) FROM "
      "pg_stat_user_indexes i WHERE i.relid = s.relid AND " +
          lookup +
          "), d.blks_hit, d.blks_read FROM pg_stat_user_tables s, pg_stat_database d WHERE "
          "d.datname = current_database() AND s.schemaname = " +
          sql_literal(target.schema) + " AND s.relname = " + sql_literal(target.table),
      deadline);
  if (r.rows() != 1) {
    throw AdvisorError("fingerprint table " + target.schema + "." + target.table +
                       " disappeared while its scans were watched");
  }
  sample.seq_scan = r.integer(0, 0);
  sample.seq_tup_read = r.integer(0, 1);
  sample.idx_scan = r.integer(0, 2);
  sample.lookup_idx_scan = r.integer(0, 3);
  sample.blks_hit = r.integer(0, 4);
  sample.blks_read = r.integer(0, 5);
}

// Entries of this database that name the table and the column; the lexer decides.
void read_text_lookups(Connection& conn, const ScanTarget& target, ScanSample& sample,
                       Clock::time_point deadline) {
  if (target.statements_view.empty()) return;
  auto r = conn.query(
      "SELECT s.queryid, sum(s.calls), min(s.query) FROM " + target.statements_view +
          " s WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())" +
          excluded_roles_condition(target.exclude_users, "s.userid") +
          " AND s.queryid IS NOT NULL AND strpos(lower(s.query), lower(" +
          sql_literal(target.table) + ")) > 0 AND strpos(lower(s.query), lower(" +
          sql_literal(target.column) + ")) > 0 GROUP BY s.queryid LIMIT 1000",
      deadline);
  sample.statements_read = true;
  for (int i = 0; i < r.rows(); ++i) {
    auto query = r.value(i, 2);
    if (is_maintenance_statement(query)) continue;
    if (!compares_column_as_text(query, target.table, target.column)) continue;
    sample.text_lookups.push_back(
        {std::string(r.value(i, 0)),
         cap_utf8(collapse_whitespace(redact_sql(query)), kStatementTextMax), r.integer(i, 1)});
  }
}

}  // namespace

ScanSample sample_scans(Connection& conn, const ScanTarget& target, Clock::time_point deadline) {
  ScanSample sample;
  read_table_counters(conn, target, sample, deadline);
  read_text_lookups(conn, target, sample, deadline);
  sample.taken = std::chrono::steady_clock::now();
  return sample;
}

ScanWindow window_between(const ScanSample& before, const ScanSample& after) {
  ScanWindow w;
  w.seconds = std::chrono::duration<double>(after.taken - before.taken).count();
  w.seq_scan = after.seq_scan - before.seq_scan;
  w.seq_tup_read = after.seq_tup_read - before.seq_tup_read;
  w.idx_scan = after.idx_scan - before.idx_scan;
  w.lookup_idx_scan = after.lookup_idx_scan - before.lookup_idx_scan;
  w.blks_hit = after.blks_hit - before.blks_hit;
  w.blks_read = after.blks_read - before.blks_read;
  if (w.seq_scan < 0 || w.seq_tup_read < 0 || w.idx_scan < 0 || w.lookup_idx_scan < 0 ||
      w.blks_hit < 0 || w.blks_read < 0) {
    w.seq_scan = w.seq_tup_read = w.idx_scan = w.lookup_idx_scan = w.blks_hit = w.blks_read = 0;
    w.counters_reset = true;
  }
  w.statements_read = before.statements_read && after.statements_read;
  std::map<std::string, std::int64_t> calls_before;
  for (const auto& t : before.text_lookups)
    calls_before[t.queryid] = t.calls;
  for (const auto& t : after.text_lookups) {
    auto it = calls_before.find(t.queryid);
    // New since the first sample: every call is in the window. Fewer calls than before: the
    // entry was reset or evicted and came back, so its calls are all recent too.
    std::int64_t calls =
        it == calls_before.end() || it->second > t.calls ? t.calls : t.calls - it->second;
    if (calls > 0) w.text_lookups.push_back({t.queryid, t.query, calls});
  }
  return w;
}

}  // namespace afp::pg
