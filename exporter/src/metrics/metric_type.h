#pragma once

namespace afp::metrics {

// A family's type, as its TYPE line names it. The enumerators are prometheus-cpp's
// (prometheus::MetricType), so the tests and benchmarks that compare with its
// TextSerializer convert one to the other by name; the product does not use prometheus-cpp.
enum class MetricType { Counter, Gauge, Summary, Untyped, Histogram };

}  // namespace afp::metrics
