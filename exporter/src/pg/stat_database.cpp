// pg_stat_database: per-database cache hits and reads, commits, rollbacks, deadlocks and
// backends, with postgres_exporter's names plus _total on the counters.
#include "pg/query.h"

namespace afp::pg {

namespace {

class StatDatabaseQuery final : public PgQuery {
 public:
  void collect(Connection& conn, metrics::TextWriter& out, Clock::time_point deadline) override {
    auto result = conn.query(
        "SELECT datname, numbackends, xact_commit, xact_rollback, blks_read, blks_hit, deadlocks "
        "FROM pg_stat_database WHERE datname IS NOT NULL ORDER BY datname",
        deadline);
    using metrics::MetricType;
    write_columns(
        out, result, {"datname"},
        {{"numbackends", "pg_stat_database_numbackends",
          "Number of backends currently connected to this database.", MetricType::Gauge},
         {"xact_commit", "pg_stat_database_xact_commit_total",
          "Number of transactions in this database that have been committed.", MetricType::Counter},
         {"xact_rollback", "pg_stat_database_xact_rollback_total",
          "Number of transactions in this database that have been rolled back.",
          MetricType::Counter},
         {"blks_read", "pg_stat_database_blks_read_total",
          "Number of disk blocks read in this database.", MetricType::Counter},
         {"blks_hit", "pg_stat_database_blks_hit_total",
          "Number of times disk blocks were found already in the buffer cache.",
          MetricType::Counter},
         {"deadlocks", "pg_stat_database_deadlocks_total",
          "Number of deadlocks detected in this database.", MetricType::Counter}});
  }
};

}  // namespace

std::unique_ptr<PgQuery> make_stat_database_query() {
  return std::make_unique<StatDatabaseQuery>();
}

}  // namespace afp::pg
