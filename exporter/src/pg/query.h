#pragma once

#include <memory>

#include "collectors/settings.h"
#include "metrics/text_writer.h"
#include "pg/connection.h"

namespace afp::pg {

// One PostgreSQL collector's work: its SQL, and how its rows become metric families.
// Throws PgError when the query fails; what it wrote is then discarded by the source.
class PgQuery {
 public:
  virtual ~PgQuery() = default;
  virtual void collect(Connection& conn, metrics::TextWriter& out, Clock::time_point deadline) = 0;
};

std::unique_ptr<PgQuery> make_stat_database_query();
std::unique_ptr<PgQuery> make_stat_user_tables_query();
std::unique_ptr<PgQuery> make_stat_user_indexes_query();
std::unique_ptr<PgQuery> make_stat_statements_query(const collectors::StatementsSettings& settings);

// Writes one family per column of `result` named in `columns`, a sample per row, labelled
// by the label columns. The row layout every pg_stat_* view shares.
struct ColumnMetric {
  const char* column;
  const char* metric;
  const char* help;
  metrics::MetricType type;
  double scale = 1;  // e.g. milliseconds → seconds
};
void write_columns(metrics::TextWriter& out, const Result& result,
                   std::initializer_list<const char*> label_columns,
                   std::initializer_list<ColumnMetric> metrics);

}  // namespace afp::pg
