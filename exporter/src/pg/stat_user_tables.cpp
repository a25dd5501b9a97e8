// pg_stat_user_tables: scans, live and dead rows, modifications since analyze, the last
// (auto)analyze and (auto)vacuum times and table and index sizes, per table of the
// database the exporter is connected to. Names as postgres_exporter's; the scan counters
// are untyped because those names have no _total suffix (promtool flags counters without).
#include "pg/query.h"

namespace afp::pg {

namespace {

class StatUserTablesQuery final : public PgQuery {
 public:
  explicit StatUserTablesQuery(long long limit)
      : sql_(largest_rows_sql(
            "SELECT current_database() AS datname, schemaname, relname, seq_scan, seq_tup_read, "
            "idx_scan, n_live_tup, n_dead_tup, n_mod_since_analyze, "
            "extract(epoch FROM last_analyze) AS last_analyze, "
            "extract(epoch FROM last_autoanalyze) AS last_autoanalyze, "
            "extract(epoch FROM last_vacuum) AS last_vacuum, "
            "extract(epoch FROM last_autovacuum) AS last_autovacuum, "
            "CASE WHEN locked THEN NULL ELSE pg_table_size(relid) END AS table_size, "
            "CASE WHEN locked THEN NULL ELSE pg_indexes_size(relid) END AS index_size "
            "FROM (SELECT *, relid IN " +
                std::string(kExclusivelyLockedRelations) +
                " AS locked FROM pg_stat_user_tables) AS t",
            "coalesce(table_size, 0) + coalesce(index_size, 0)", "schemaname, relname", limit)) {}

  void collect(Connection& conn, metrics::TextWriter& out, Clock::time_point deadline) override {
    auto result = conn.query(sql_, deadline);
    using metrics::MetricType;
    write_columns(
        out, result, {"datname", "schemaname", "relname"},
        {{"seq_scan", "pg_stat_user_tables_seq_scan",
          "Number of sequential scans initiated on this table.", MetricType::Untyped},
         {"seq_tup_read", "pg_stat_user_tables_seq_tup_read",
          "Number of live rows fetched by sequential scans.", MetricType::Untyped},
         {"idx_scan", "pg_stat_user_tables_idx_scan",
          "Number of index scans initiated on this table.", MetricType::Untyped},
         {"n_live_tup", "pg_stat_user_tables_n_live_tup", "Estimated number of live rows.",
          MetricType::Gauge},
         {"n_dead_tup", "pg_stat_user_tables_n_dead_tup", "Estimated number of dead rows.",
          MetricType::Gauge},
         {"n_mod_since_analyze", "pg_stat_user_tables_n_mod_since_analyze",
          "Estimated number of rows changed since this table was last analyzed.",
          MetricType::Gauge},
         {"last_analyze", "pg_stat_user_tables_last_analyze",
          "Last time this table was manually analyzed (seconds since epoch, 0 if never).",
          MetricType::Gauge},
         {"last_autoanalyze", "pg_stat_user_tables_last_autoanalyze",
          "Last time this table was analyzed by autovacuum (seconds since epoch, 0 if never).",
          MetricType::Gauge},
         {"last_vacuum", "pg_stat_user_tables_last_vacuum",
          "Last time this table was manually vacuumed (seconds since epoch, 0 if never).",
          MetricType::Gauge},
         {"last_autovacuum", "pg_stat_user_tables_last_autovacuum",
          "Last time this table was vacuumed by autovacuum (seconds since epoch, 0 if never).",
          MetricType::Gauge},
         {"table_size", "pg_stat_user_tables_table_size_bytes",
          "Disk space used by this table (without indexes), in bytes.", MetricType::Gauge, 1, true},
         {"index_size", "pg_stat_user_tables_index_size_bytes",
          "Disk space used by the indexes of this table, in bytes.", MetricType::Gauge, 1, true}});
    write_omitted(out, result, "afp_pg_stat_user_tables_omitted",
                  "Tables of the database left out of pg_stat_user_tables_* by "
                  "--pg.relations.limit (the largest tables are kept).");
  }

 private:
  std::string sql_;
};

}  // namespace

std::unique_ptr<PgQuery> make_stat_user_tables_query(long long limit) {
  return std::make_unique<StatUserTablesQuery>(limit);
}

}  // namespace afp::pg
