// TextWriter against prometheus-cpp 1.0.1's TextSerializer, byte for byte.
//
// The exporter writes large families straight into the response with TextWriter instead
// of building MetricFamily objects for TextSerializer; these tests hold the two outputs
// identical, except for HELP escaping (see the last test case).
//
// This file: hand-picked cases and HELP escaping; text_writer_property_test.cpp holds the
// random families and the streaming API.

#include "metrics/text_writer.h"

#include <catch2/catch.hpp>
#include <cfloat>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "text_writer_support.h"

namespace {

using namespace afp::test::text_writer;

// The value table: each value, and how %.16g (TextSerializer's ostream precision 16,
// default float format) prints it.
struct ValueCase {
  double value;
  const char* text;
};

const std::vector<ValueCase>& value_cases() {
  static const std::vector<ValueCase> cases = {
      {0.0, "0"},
      {-0.0, "-0"},
      {1.0, "1"},
      {-1.0, "-1"},
      {0.1, "0.1"},
      {1.0 / 3.0, "0.3333333333333333"},
      {-5.5, "-5.5"},
      {1e-7, "1e-07"},
      {1e-5, "1e-05"},
      {1e-4, "0.0001"},
      {123456.0, "123456"},
      {1e15, "1000000000000000"},
      {1e16, "1e+16"},
      {1e21, "1e+21"},
      {kTwo53 - 1, "9007199254740991"},
      {-(kTwo53 - 1), "-9007199254740991"},
      {kTwo53, "9007199254740992"},
      {-kTwo53, "-9007199254740992"},
      {kTwo53 + 2, "9007199254740994"},
      {123456789012345678.0, "1.234567890123457e+17"},
      {9223372036854775808.0, "9.223372036854776e+18"},  // 2^63: would overflow int64
      {-9223372036854775808.0, "-9.223372036854776e+18"},
      {18446744073709551616.0, "1.844674407370955e+19"},  // 2^64
      {0.30000000000000004, "0.3"},
      {2.5e-5, "2.5e-05"},
      {std::numeric_limits<double>::denorm_min(), "4.940656458412465e-324"},
      {-1e-320, "-9.99988867182683e-321"},
      {DBL_MIN, "2.225073858507201e-308"},
      {DBL_MAX, "1.797693134862316e+308"},
      {-DBL_MAX, "-1.797693134862316e+308"},
      {DBL_EPSILON, "2.220446049250313e-16"},
      {kNaN, "Nan"},
      {-kNaN, "Nan"},
      {kInf, "+Inf"},
      {-kInf, "-Inf"},
  };
  return cases;
}

// ----- Hand-picked cases -------------------------------------------------------------

TEST_CASE("text_writer: append_value prints each value as TextSerializer does", "[text_writer]") {
  for (const auto& c : value_cases()) {
    INFO("value " << c.text);
    CHECK(value_text(c.value) == c.text);
  }
}

TEST_CASE("text_writer: counter and gauge and untyped families", "[text_writer]") {
  for (MetricType type : {MetricType::Counter, MetricType::Gauge, MetricType::Untyped}) {
    std::vector<ClientMetric> metrics;
    for (const auto& c : value_cases())
      metrics.push_back(scalar(type, c.value, {{"v", c.text}}));
    check_matches({family("afp_values", "Every value in the table.", type, metrics)});
  }

  check_matches({family("requests_total", "Requests.", MetricType::Counter,
                        {scalar(MetricType::Counter, 3, {{"code", "200"}}),
                         scalar(MetricType::Counter, 0.5, {{"code", "500"}})})},
                "# HELP requests_total Requests.\n"
                "# TYPE requests_total counter\n"
                "requests_total{code=\"200\"} 3\n"
                "requests_total{code=\"500\"} 0.5\n");
  check_matches({family("temperature", "", MetricType::Gauge,
                        {scalar(MetricType::Gauge, -0.0), scalar(MetricType::Gauge, kNaN)})},
                "# TYPE temperature gauge\n"
                "temperature -0\n"
                "temperature Nan\n");
  check_matches({family("mystery", "x", MetricType::Untyped, {scalar(MetricType::Untyped, 1e21)})},
                "# HELP mystery x\n"
                "# TYPE mystery untyped\n"
                "mystery 1e+21\n");
}

TEST_CASE("text_writer: summary with quantiles", "[text_writer]") {
  check_matches(
      {family("rpc_seconds", "RPC latency.", MetricType::Summary,
              {summary(7, 1.25, {{0.5, 0.1}, {0.9, 1.0 / 3.0}, {0.99, kNaN}}, {{"svc", "a"}}),
               summary(0, 0, {}), summary(kU64Max - 1, 1e300, {{0, -kInf}, {1, kInf}})})},
      "# HELP rpc_seconds RPC latency.\n"
      "# TYPE rpc_seconds summary\n"
      "rpc_seconds_count{svc=\"a\"} 7\n"
      "rpc_seconds_sum{svc=\"a\"} 1.25\n"
      "rpc_seconds{svc=\"a\",quantile=\"0.5\"} 0.1\n"
      "rpc_seconds{svc=\"a\",quantile=\"0.9\"} 0.3333333333333333\n"
      "rpc_seconds{svc=\"a\",quantile=\"0.99\"} Nan\n"
      "rpc_seconds_count 0\n"
      "rpc_seconds_sum 0\n"
      "rpc_seconds_count 18446744073709551614\n"
      "rpc_seconds_sum 1e+300\n"
      "rpc_seconds{quantile=\"0\"} -Inf\n"
      "rpc_seconds{quantile=\"1\"} +Inf\n");

  // Every table value as a quantile label and as a quantile value.
  std::vector<std::pair<double, double>> quantiles;
  for (const auto& c : value_cases())
    quantiles.emplace_back(c.value, c.value);
  check_matches({family("q", "", MetricType::Summary,
                        {summary(3, -5.5, quantiles, {{"a", "\\\"\n"}}, 1700000000123)})});
}

TEST_CASE("text_writer: histogram with and without an explicit +Inf bucket", "[text_writer]") {
  SECTION("the +Inf bucket is added from sample_count when missing") {
    check_matches({family("lat_seconds", "Latency.", MetricType::Histogram,
                          {histogram(5, 2.5, {{0.005, 1}, {0.1, 3}, {1, 4}}, {{"op", "read"}})})},
                  "# HELP lat_seconds Latency.\n"
                  "# TYPE lat_seconds histogram\n"
                  "lat_seconds_count{op=\"read\"} 5\n"
                  "lat_seconds_sum{op=\"read\"} 2.5\n"
                  "lat_seconds_bucket{op=\"read\",le=\"0.005\"} 1\n"
                  "lat_seconds_bucket{op=\"read\",le=\"0.1\"} 3\n"
                  "lat_seconds_bucket{op=\"read\",le=\"1\"} 4\n"
                  "lat_seconds_bucket{op=\"read\",le=\"+Inf\"} 5\n");
  }
  SECTION("an explicit +Inf bucket is not repeated") {
    check_matches({family("lat_seconds", "", MetricType::Histogram,
                          {histogram(5, 2.5, {{1, 4}, {kInf, 5}})})},
                  "# TYPE lat_seconds histogram\n"
                  "lat_seconds_count 5\n"
                  "lat_seconds_sum 2.5\n"
                  "lat_seconds_bucket{le=\"1\"} 4\n"
                  "lat_seconds_bucket{le=\"+Inf\"} 5\n");
  }
  SECTION("no buckets at all still gets the +Inf bucket") {
    check_matches({family("h", "", MetricType::Histogram, {histogram(0, 0, {})})},
                  "# TYPE h histogram\n"
                  "h_count 0\n"
                  "h_sum 0\n"
                  "h_bucket{le=\"+Inf\"} 0\n");
  }
  SECTION("+Inf followed by another bound, NaN and odd bounds") {
    check_matches({family(
        "h", "", MetricType::Histogram,
        {histogram(9, kNaN, {{kInf, 8}, {1, 9}}), histogram(9, -0.0, {{-kInf, 0}, {kNaN, 1}}),
         histogram(9, 1, {{-0.0, 0}, {1e-7, 1}, {1e21, 2}, {kTwo53 + 2, 3}})})});
  }
  SECTION("uint64 counts near 2^64") {
    const std::uint64_t two63 = std::uint64_t{1} << 63;
    check_matches(
        {family("h", "", MetricType::Histogram,
                {histogram(kU64Max, DBL_MAX, {{1, two63 - 1}, {2, two63}, {3, kU64Max - 1}})})},
        "# TYPE h histogram\n"
        "h_count 18446744073709551615\n"
        "h_sum 1.797693134862316e+308\n"
        "h_bucket{le=\"1\"} 9223372036854775807\n"
        "h_bucket{le=\"2\"} 9223372036854775808\n"
        "h_bucket{le=\"3\"} 18446744073709551614\n"
        "h_bucket{le=\"+Inf\"} 18446744073709551615\n");
  }
  SECTION("every table value as a bound and as the sum") {
    std::vector<ClientMetric> metrics;
    std::vector<std::pair<double, std::uint64_t>> buckets;
    std::uint64_t n = 0;
    for (const auto& c : value_cases()) {
      buckets.emplace_back(c.value, n++);
      metrics.push_back(histogram(n, c.value, {}));
    }
    metrics.push_back(histogram(n, 0, buckets, {{"x", "y"}}));
    check_matches({family("h", "", MetricType::Histogram, metrics)});
  }
}

TEST_CASE("text_writer: label values escape backslash and quote and newline", "[text_writer]") {
  check_matches({family("esc", "", MetricType::Gauge,
                        {scalar(MetricType::Gauge, 1, {{"path", "C:\\dir\\"}}),
                         scalar(MetricType::Gauge, 2, {{"q", "say \"hi\""}}),
                         scalar(MetricType::Gauge, 3, {{"nl", "a\nb\n"}}),
                         scalar(MetricType::Gauge, 4, {{"all", "\\\"\n\\n"}, {"e", ""}}),
                         scalar(MetricType::Gauge, 5, {{"utf8", "日本語 🎵 é"}, {"cr", "\r\t"}})})},
                "# TYPE esc gauge\n"
                "esc{path=\"C:\\\\dir\\\\\"} 1\n"
                "esc{q=\"say \\\"hi\\\"\"} 2\n"
                "esc{nl=\"a\\nb\\n\"} 3\n"
                "esc{all=\"\\\\\\\"\\n\\\\n\",e=\"\"} 4\n"
                "esc{utf8=\"日本語 🎵 é\",cr=\"\r\t\"} 5\n");

  std::string out;
  afp::metrics::append_escaped(out, "x\\y\"z\nw");
  CHECK(out == "x\\\\y\\\"z\\nw");
}

TEST_CASE("text_writer: empty label sets and timestamps and empty families", "[text_writer]") {
  SECTION("a metric without labels has no braces") {
    check_matches({family("up", "", MetricType::Gauge, {scalar(MetricType::Gauge, 1)})},
                  "# TYPE up gauge\nup 1\n");
  }
  SECTION("timestamps follow every line of the metric; zero means none") {
    check_matches(
        {family("c", "", MetricType::Counter,
                {scalar(MetricType::Counter, 1, {}, 1700000000123),
                 scalar(MetricType::Counter, 2, {{"a", "b"}}, -1),
                 scalar(MetricType::Counter, 3, {}, 0),
                 scalar(MetricType::Counter, 4, {}, std::numeric_limits<std::int64_t>::max()),
                 scalar(MetricType::Counter, 5, {}, std::numeric_limits<std::int64_t>::min())}),
         family("s", "", MetricType::Summary, {summary(1, 2, {{0.5, 3}}, {}, 42)}),
         family("h", "", MetricType::Histogram, {histogram(1, 2, {{0.5, 1}}, {}, 42)})},
        "# TYPE c counter\n"
        "c 1 1700000000123\n"
        "c{a=\"b\"} 2 -1\n"
        "c 3\n"
        "c 4 9223372036854775807\n"
        "c 5 -9223372036854775808\n"
        "# TYPE s summary\n"
        "s_count 1 42\n"
        "s_sum 2 42\n"
        "s{quantile=\"0.5\"} 3 42\n"
        "# TYPE h histogram\n"
        "h_count 1 42\n"
        "h_sum 2 42\n"
        "h_bucket{le=\"0.5\"} 1 42\n"
        "h_bucket{le=\"+Inf\"} 1 42\n");
  }
  SECTION("families without metrics still get HELP and TYPE") {
    check_matches(
        {family("e1", "Empty.", MetricType::Counter, {}), family("e2", "", MetricType::Gauge, {}),
         family("e3", "", MetricType::Summary, {}), family("e4", "", MetricType::Histogram, {}),
         family("e5", "", MetricType::Untyped, {})},
        "# HELP e1 Empty.\n# TYPE e1 counter\n# TYPE e2 gauge\n# TYPE e3 summary\n"
        "# TYPE e4 histogram\n# TYPE e5 untyped\n");
  }
  SECTION("no families, no bytes") {
    check_matches({});
    CHECK(writer_text({}).empty());
  }
  SECTION("the writer appends to what the buffer holds") {
    std::string out = "prefix\n";
    TextWriter writer(out);
    afp::test::write_families(writer,
                              {family("g", "", MetricType::Gauge, {scalar(MetricType::Gauge, 1)})});
    CHECK(out == "prefix\n# TYPE g gauge\ng 1\n");
  }
}

// ----- HELP escaping: the one deliberate difference ----------------------------------

// The text format (0.0.4) says HELP text escapes backslash as \\ and newline as \n.
// TextSerializer 1.0.1 writes the help string raw: a newline in it ends the HELP line
// early and the rest becomes a garbage line that Prometheus rejects, failing the whole
// scrape; a raw backslash is read back as the start of an escape. TextWriter escapes, so
// its output differs from TextSerializer's on exactly those bytes of the HELP line.
TEST_CASE("text_writer: HELP escapes backslash and newline unlike TextSerializer",
          "[text_writer]") {
  std::vector<MetricFamily> families = {
      family("m", "a\\b\nc", MetricType::Gauge, {scalar(MetricType::Gauge, 1)})};

  std::string ours = writer_text(families);
  CHECK(ours ==
        "# HELP m a\\\\b\\nc\n"  // bytes: # HELP m a\\b\nc
        "# TYPE m gauge\n"
        "m 1\n");

  // TextSerializer's output, documented here so a fixed prometheus-cpp shows up.
  std::string theirs = serializer_text(families);
  CHECK(theirs ==
        "# HELP m a\\b\n"
        "c\n"
        "# TYPE m gauge\n"
        "m 1\n");

  // Streaming escapes the same way.
  std::string streamed;
  TextWriter w(streamed);
  w.family("m", "a\\b\nc", WriterType::Gauge);
  w.sample({}, 1);
  CHECK(streamed == ours);

  // Only backslash and newline are escaped; quotes stay as they are in HELP.
  CHECK(writer_text({family("q", "say \"hi\" \\n", MetricType::Counter, {})}) ==
        "# HELP q say \"hi\" \\\\n\n# TYPE q counter\n");
}

}  // namespace
