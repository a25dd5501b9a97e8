// pg_stat_user_indexes: per index scans, tuples read and fetched, and size. This is how an
// operator sees whether the fingerprint hash index is used (postgres_exporter has no such
// collector).
#include "pg/query.h"

namespace afp::pg {

namespace {

class StatUserIndexesQuery final : public PgQuery {
 public:
  explicit StatUserIndexesQuery(long long limit)
      : sql_(largest_rows_sql(
            "SELECT current_database() AS datname, schemaname, relname, indexrelname, idx_scan, "
            "idx_tup_read, idx_tup_fetch, "
            "CASE WHEN locked THEN NULL ELSE pg_relation_size(indexrelid) END AS size "
            "FROM (SELECT *, (indexrelid IN " +
                std::string(kExclusivelyLockedRelations) + " OR relid IN " +
                kExclusivelyLockedRelations + ") AS locked FROM pg_stat_user_indexes) AS i",
            "coalesce(size, 0)", "schemaname, relname, indexrelname", limit)) {}

  void collect(Connection& conn, metrics::TextWriter& out, Clock::time_point deadline) override {
    auto result = conn.query(sql_, deadline);
    using metrics::MetricType;
    write_columns(
        out, result, {"datname", "schemaname", "relname", "indexrelname"},
        {{"idx_scan", "pg_stat_user_indexes_idx_scan_total",
          "Number of index scans initiated on this index.", MetricType::Counter},
         {"idx_tup_read", "pg_stat_user_indexes_idx_tup_read_total",
          "Number of index entries returned by scans on this index.", MetricType::Counter},
         {"idx_tup_fetch", "pg_stat_user_indexes_idx_tup_fetch_total",
          "Number of live table rows fetched by simple index scans using this index.",
          MetricType::Counter},
         {"size", "pg_stat_user_indexes_size_bytes", "Disk space used by this index, in bytes.",
          MetricType::Gauge, 1, true}});
    write_omitted(out, result, "afp_pg_stat_user_indexes_omitted",
                  "Indexes of the database left out of pg_stat_user_indexes_* by "
                  "--pg.relations.limit (the largest indexes are kept).");
  }

 private:
  std::string sql_;
};

}  // namespace

std::unique_ptr<PgQuery> make_stat_user_indexes_query(long long limit) {
  return std::make_unique<StatUserIndexesQuery>(limit);
}

}  // namespace afp::pg
