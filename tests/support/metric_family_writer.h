#pragma once

// prometheus::MetricFamily objects written with afp::metrics::TextWriter, for the tests and
// benchmarks that compare its output with prometheus-cpp's TextSerializer byte for byte.
// The product never builds MetricFamily objects and does not use prometheus-cpp: its
// collectors stream each family with TextWriter::family() and sample().

#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>

#include <vector>

#include "metrics/metric_type.h"
#include "metrics/text_writer.h"

namespace afp::test {

// The afp::metrics::MetricType of the same name.
metrics::MetricType to_afp(prometheus::MetricType type);

// Writes the family as TextSerializer 1.0.1 does, but for HELP, which TextWriter escapes:
// HELP and TYPE through TextWriter::family(), then a line per value of each metric (a
// histogram's or summary's _count, _sum, buckets or quantiles, with the +Inf bucket added
// when missing), each with the metric's timestamp unless it is 0.
void write_family(metrics::TextWriter& writer, const prometheus::MetricFamily& family);
void write_families(metrics::TextWriter& writer,
                    const std::vector<prometheus::MetricFamily>& families);

}  // namespace afp::test
