#pragma once

#include <memory>

#include "metrics/deferred_text.h"
#include "metrics/text_writer.h"
#include "pg/connection.h"
#include "pg/settings.h"

namespace afp::pg {

// One PostgreSQL collector's work: its SQL, and how its rows become metric families.
// Throws PgError when the query fails; what it wrote is then discarded by the source.
class PgQuery {
 public:
  virtual ~PgQuery() = default;
  virtual void collect(Connection& conn, metrics::TextWriter& out, Clock::time_point deadline) = 0;
  // After a successful collect(): the families it left as data instead of writing them, to
  // be rendered after `out`'s text as each scrape sends it (none by default).
  virtual std::shared_ptr<const metrics::DeferredText> take_deferred() { return nullptr; }
};

std::unique_ptr<PgQuery> make_stat_database_query();
// limit: the largest tables (indexes) kept, the rest counted in *_omitted; 0: all.
std::unique_ptr<PgQuery> make_stat_user_tables_query(long long limit);
std::unique_ptr<PgQuery> make_stat_user_indexes_query(long long limit);
std::unique_ptr<PgQuery> make_stat_statements_query(const StatementsSettings& settings);

// Writes one family per column of `result` named in `columns`, a sample per row, labelled
// by the label columns. The row layout every pg_stat_* view shares.
struct ColumnMetric {
  const char* column;
  const char* metric;
  const char* help;
  metrics::MetricType type;
  double scale = 1;  // e.g. milliseconds → seconds
  // NULL leaves the sample out (a size not measured this time) instead of reading as 0.
  bool null_is_absent = false;
};

// SQL: the relations of this database that a session holds or awaits ACCESS EXCLUSIVE on
// (a migration, VACUUM FULL, a forgotten LOCK TABLE). A size function on one of them would
// wait for that lock, and the whole PostgreSQL collection with it: their sizes are left
// out until the lock is gone.
inline constexpr const char* kExclusivelyLockedRelations =
    "(SELECT relation FROM pg_locks WHERE locktype = 'relation' "
    "AND mode = 'AccessExclusiveLock' "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))";
void write_columns(metrics::TextWriter& out, const Result& result,
                   std::initializer_list<const char*> label_columns,
                   std::initializer_list<ColumnMetric> metrics);

// The largest `limit` rows of `select` (a query with the columns of one relation per row),
// ordered by `size_expression` (which may name its columns) and then returned in `order`;
// every row also has a `total` column counting all rows before the limit. 0: all rows.
std::string largest_rows_sql(std::string_view select, std::string_view size_expression,
                             std::string_view order, long long limit);
// A gauge `metric` with how many rows largest_rows_sql() left out.
void write_omitted(metrics::TextWriter& out, const Result& result, const char* metric,
                   const char* help);

}  // namespace afp::pg
