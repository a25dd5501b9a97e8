#include "pg/query.h"

#include <charconv>
#include <vector>

namespace afp::pg {

namespace {

// NULL (never analyzed, no scans yet) reads as 0, as postgres_exporter reports it.
double number(const Result& result, int row, int column) {
  if (result.is_null(row, column)) return 0;
  auto text = result.value(row, column);
  double value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

}  // namespace

void write_columns(metrics::TextWriter& out, const Result& result,
                   std::initializer_list<const char*> label_columns,
                   std::initializer_list<ColumnMetric> metrics) {
  std::vector<int> label_index;
  for (const char* name : label_columns) {
    int index = result.column(name);
    if (index < 0) throw PgError(std::string("result has no column ") + name);
    label_index.push_back(index);
  }
  std::vector<metrics::LabelRef> labels(label_index.size());
  for (const auto& m : metrics) {
    int column = result.column(m.column);
    if (column < 0) continue;  // not in this PostgreSQL version
    out.family(m.metric, m.help, m.type);
    for (int row = 0; row < result.rows(); ++row) {
      if (m.null_is_absent && result.is_null(row, column)) continue;
      std::size_t i = 0;
      for (const char* name : label_columns) {
        labels[i] = {name, result.value(row, label_index[i])};
        ++i;
      }
      out.sample("", labels, number(result, row, column) * m.scale);
    }
  }
}

std::string largest_rows_sql(std::string_view select, std::string_view size_expression,
                             std::string_view order, long long limit) {
  std::string out = "SELECT * FROM (SELECT *, count(*) OVER () AS total FROM (";
  out.append(select).append(") AS s ORDER BY ").append(size_expression).append(" DESC, ");
  out.append(order).append(" LIMIT ");
  out += limit > 0 ? std::to_string(limit) : "ALL";
  out.append(") AS t ORDER BY ").append(order);
  return out;
}

void write_omitted(metrics::TextWriter& out, const Result& result, const char* metric,
                   const char* help) {
  double total = 0;
  int column = result.column("total");
  if (column >= 0 && result.rows() > 0) total = number(result, 0, column);
  out.family(metric, help, metrics::MetricType::Gauge);
  out.sample({}, total - result.rows());
}

}  // namespace afp::pg
