#include "pg/advisor.h"

// The advisor's reading: the SQL that fills a DatabaseSnapshot and the parsing of its
// results. The rest of the advisor (advisor.cpp) is pure and judges the snapshot.

#include <cstdlib>
#include <string>

#include "core/thresholds.h"
#include "pg/excluded_roles.h"
#include "pg/sql_literal.h"
#include "pg/sql_redact.h"

namespace afp::pg {

namespace {

// The name as SQL writes it: quoted by the server, schema-qualified unless "public".
std::string sql_name_expr(const char* schema_col, const char* name_col) {
  return std::string("CASE WHEN ") + schema_col + " = 'public' THEN '' ELSE quote_ident(" +
         schema_col + ") || '.' END || quote_ident(" + name_col + ")";
}

std::string text_of(const Result& r, int row, int col) {
  return r.is_null(row, col) ? std::string() : std::string(r.value(row, col));
}

std::optional<double> double_of(const Result& r, int row, int col) {
  if (r.is_null(row, col)) return std::nullopt;
  return std::strtod(std::string(r.value(row, col)).c_str(), nullptr);
}

bool bool_of(const Result& r, int row, int col) {
  return !r.is_null(row, col) && r.value(row, col) == "t";
}

bool reloption_true(std::string value) {
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return !(value == "false" || value == "off" || value == "0" || value == "no" || value == "f" ||
           value == "n");
}

void load_fingerprint_table(Connection& conn, const AdvisorSettings& s, DatabaseSnapshot& snap,
                            Clock::time_point deadline) {
  const std::string target =
      "left('ix_' || c.relname || '_' || " + sql_literal(s.hash_column) + ", 63)";
  auto r = conn.query(
      "SELECT n.nspname, c.relname, " + sql_name_expr("n.nspname", "c.relname") +
          ", c.relkind, (SELECT quote_ident(a.attname) FROM pg_attribute a WHERE a.attrelid = "
          "c.oid AND a.attname = " +
          sql_literal(s.hash_column) + " AND a.attnum > 0 AND NOT a.attisdropped), " + target +
          ", quote_ident(" + target +
          "), (SELECT CASE r.relkind WHEN 'i' THEN CASE WHEN x.indisvalid AND x.indisready THEN "
          "'index' ELSE 'invalid index' END WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' "
          "THEN 'materialized view' WHEN 'S' THEN 'sequence' WHEN 'p' THEN 'partitioned table' "
          "WHEN 'I' THEN 'partitioned index' ELSE 'relation' END FROM pg_class r LEFT JOIN "
          "pg_index x ON x.indexrelid = r.oid WHERE r.relnamespace = c.relnamespace AND "
          "r.relname = " +
          target +
          "), quote_ident(n.nspname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
          "WHERE c.oid = "
          "to_regclass(" +
          sql_literal(s.fingerprint_table) + ")",
      deadline);
  if (r.rows() == 0) {
    throw AdvisorError("fingerprint table \"" + s.fingerprint_table + "\" not found in database " +
                       snap.database + " (--fingerprint-table)");
  }
  auto kind = text_of(r, 0, 3);
  if (kind != "r" && kind != "p") {
    throw AdvisorError("\"" + s.fingerprint_table + "\" is not a table (--fingerprint-table)");
  }
  if (r.is_null(0, 4)) {
    throw AdvisorError("table \"" + s.fingerprint_table + "\" has no column \"" + s.hash_column +
                       "\" (--hash-column)");
  }
  snap.fp_schema = text_of(r, 0, 0);
  snap.fp_table = text_of(r, 0, 1);
  snap.fp_sql_name = text_of(r, 0, 2);
  snap.hash_column = s.hash_column;
  snap.hash_column_sql = text_of(r, 0, 4);
  snap.target_index = text_of(r, 0, 5);
  snap.target_index_sql = text_of(r, 0, 6);
  snap.target_name_taken = text_of(r, 0, 7);
  snap.fp_schema_sql = text_of(r, 0, 8);
}

void load_tables(Connection& conn, DatabaseSnapshot& snap, Clock::time_point deadline) {
  // Who may VACUUM and ANALYZE: the table owner, the database owner, and from PostgreSQL 17
  // whoever holds MAINTAIN. CREATE INDEX needs the table owner.
  std::string db_owner =
      "pg_has_role((SELECT datdba FROM pg_database WHERE datname = current_database()), "
      "'USAGE')";
  std::string maintain = snap.server_version >= 170000
                             ? "has_table_privilege(c.oid, 'MAINTAIN') OR " + db_owner
                             : "pg_has_role(c.relowner, 'USAGE') OR " + db_owner;
  auto r = conn.query(
      "SELECT s.schemaname, s.relname, " + sql_name_expr("s.schemaname", "s.relname") +
          ", s.n_live_tup, s.n_dead_tup, s.n_mod_since_analyze, s.seq_scan, s.seq_tup_read, "
          "s.idx_scan, pg_table_size(s.relid), "
          "extract(epoch FROM now() - greatest(s.last_analyze, s.last_autoanalyze)), "
          "extract(epoch FROM now() - s.last_autovacuum), "
          "extract(epoch FROM now() - s.last_vacuum), "
          "(SELECT o.option_value FROM pg_options_to_table(c.reloptions) o "
          "WHERE o.option_name = 'autovacuum_enabled'), "
          "pg_has_role(c.relowner, 'USAGE'), " +
          maintain +
          " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
          "ORDER BY s.schemaname, s.relname",
      deadline);
  for (int i = 0; i < r.rows(); ++i) {
    TableStats t;
    t.schema = text_of(r, i, 0);
    t.name = text_of(r, i, 1);
    t.sql_name = text_of(r, i, 2);
    t.n_live_tup = r.integer(i, 3);
    t.n_dead_tup = r.integer(i, 4);
    t.n_mod_since_analyze = r.integer(i, 5);
    t.seq_scan = r.integer(i, 6);
    t.seq_tup_read = r.integer(i, 7);
    t.idx_scan = r.integer(i, 8);
    t.size_bytes = r.integer(i, 9);
    t.analyze_age_s = double_of(r, i, 10);
    t.autovacuum_age_s = double_of(r, i, 11);
    t.vacuum_age_s = double_of(r, i, 12);
    t.autovacuum_enabled = r.is_null(i, 13) || reloption_true(text_of(r, i, 13));
    t.owner = bool_of(r, i, 14);
    t.can_maintain = bool_of(r, i, 15);
    snap.tables.push_back(std::move(t));
  }
}

void load_indexes(Connection& conn, DatabaseSnapshot& snap, Clock::time_point deadline) {
  auto r = conn.query(
      "SELECT n.nspname, t.relname, i.relname, " + sql_name_expr("n.nspname", "i.relname") + ", " +
          sql_name_expr("n.nspname", "t.relname") +
          ", am.amname, a.attname, x.indisvalid AND x.indisready, x.indisunique, x.indisprimary, "
          "EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid AND k.conrelid = "
          "x.indrelid AND k.contype IN ('p', 'u', 'x')), x.indpred IS NOT NULL, "
          "coalesce(s.idx_scan, 0), pg_relation_size(x.indexrelid), pg_get_indexdef(x.indexrelid) "
          "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
          "JOIN pg_class t ON t.oid = x.indrelid "
          "JOIN pg_namespace n ON n.oid = t.relnamespace "
          "JOIN pg_am am ON am.oid = i.relam "
          "LEFT JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0] "
          "AND x.indkey[0] <> 0 "
          "LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid "
          "WHERE n.nspname NOT LIKE 'pg\\_%' AND n.nspname <> 'information_schema' "
          "AND t.relkind IN ('r', 'm') AND i.relkind = 'i' "
          "ORDER BY n.nspname, t.relname, i.relname",
      deadline);
  for (int i = 0; i < r.rows(); ++i) {
    IndexInfo x;
    x.schema = text_of(r, i, 0);
    x.table = text_of(r, i, 1);
    x.name = text_of(r, i, 2);
    x.sql_name = text_of(r, i, 3);
    x.table_sql_name = text_of(r, i, 4);
    x.method = text_of(r, i, 5);
    x.first_column = text_of(r, i, 6);
    x.valid = bool_of(r, i, 7);
    x.unique = bool_of(r, i, 8);
    x.primary = bool_of(r, i, 9);
    x.constraint = bool_of(r, i, 10);
    x.partial = bool_of(r, i, 11);
    x.idx_scan = r.integer(i, 12);
    x.size_bytes = r.integer(i, 13);
    x.definition = text_of(r, i, 14);
    snap.indexes.push_back(std::move(x));
  }
}

void load_statements(Connection& conn, const AdvisorSettings& settings, DatabaseSnapshot& snap,
                     Clock::time_point deadline) {
  auto ext = conn.query(
      "SELECT quote_ident(n.nspname) FROM pg_extension e JOIN pg_namespace n ON n.oid = "
      "e.extnamespace WHERE e.extname = 'pg_stat_statements'",
      deadline);
  if (ext.rows() == 0) {
    snap.statements_unavailable = "the pg_stat_statements extension is not installed";
    return;
  }
  const std::string view = text_of(ext, 0, 0) + ".pg_stat_statements";
  std::string mean, total;
  try {
    // The columns tell the version: mean_exec_time from 1.8 (PostgreSQL 13), mean_time before.
    auto probe = conn.query("SELECT * FROM " + view + " LIMIT 0", deadline);
    bool exec = probe.column("mean_exec_time") >= 0;
    mean = exec ? "mean_exec_time" : "mean_time";
    total = exec ? "total_exec_time" : "total_time";
  } catch (const PgError& e) {  // e.g. not in shared_preload_libraries
    if (!conn.connected()) throw;
    snap.statements_unavailable = e.what();
    return;
  }
  const auto warning_ms = std::to_string(core::kDbQueryP95.warning * 1000);
  const auto max = std::to_string(kStatementTextMax);
  const auto cut = std::to_string(kStatementTextMax - 3);
  auto r = conn.query(
      "SELECT s.queryid, s.calls, s." + mean + " / 1000, s." + total +
          " / 1000, s.rows, CASE WHEN length(q) > " + max + " THEN left(q, " + cut +
          ") || '...' ELSE q END FROM " + view +
          " s, LATERAL (SELECT btrim(regexp_replace(s.query, E'\\\\s+', ' ', 'g')) AS q) t "
          "WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())" +
          excluded_roles_condition(settings.exclude_users, "s.userid") + " AND s." + mean +
          " >= " + warning_ms + " ORDER BY s." + mean + " DESC LIMIT 1000",
      deadline);
  std::vector<StatementStats> out;
  for (int i = 0; i < r.rows(); ++i) {
    StatementStats st;
    st.queryid = text_of(r, i, 0);
    st.calls = r.integer(i, 1);
    st.mean_seconds = double_of(r, i, 2).value_or(0);
    st.total_seconds = double_of(r, i, 3).value_or(0);
    st.rows = r.integer(i, 4);
    st.query = redact_sql(text_of(r, i, 5));
    out.push_back(std::move(st));
  }
  snap.statements = std::move(out);
  snap.statements_view = view;
}

}  // namespace

DatabaseSnapshot load_snapshot(Connection& conn, const AdvisorSettings& settings,
                               Clock::time_point deadline) {
  DatabaseSnapshot snap;
  auto db = conn.query(
      "SELECT current_database(), current_user, "
      "extract(epoch FROM now() - d.stats_reset), "
      "extract(epoch FROM now() - pg_postmaster_start_time()) FROM pg_stat_database d "
      "WHERE d.datname = current_database()",
      deadline);
  if (db.rows() != 1) throw AdvisorError("pg_stat_database has no row for the current database");
  snap.server_version = conn.server_version();
  snap.database = text_of(db, 0, 0);
  snap.user = text_of(db, 0, 1);
  snap.stats_reset_age_s = double_of(db, 0, 2);
  snap.server_uptime_s = double_of(db, 0, 3);
  load_fingerprint_table(conn, settings, snap, deadline);
  load_tables(conn, snap, deadline);
  load_indexes(conn, snap, deadline);
  load_statements(conn, settings, snap, deadline);
  return snap;
}

}  // namespace afp::pg
