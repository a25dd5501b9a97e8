#include "metrics/text_parser.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>

#include "metrics/text_writer.h"
#include "support/metric_family_writer.h"

using afp::metrics::find_sample;
using afp::metrics::find_samples;
using afp::metrics::parse_text;
using afp::metrics::Sample;

using Labels = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("parse_text reads samples and skips comments", "[metrics][parser]") {
  auto samples = parse_text(
      "# HELP up Whether the target is up.\n"
      "# TYPE up gauge\n"
      "up 1\n"
      "\n"
      "# a free comment\n"
      "  indented_metric   2.5  \n"
      "with_labels{a=\"x\",b=\"y\"} -3e-2\n"
      "empty_braces{} 4\n"
      "trailing_comma{a=\"x\",} 5\n"
      "spaced { a = \"x\" , b=\"\" } 6 1700000000000\n"
      "colon:name_total 7 -1\n"
      "tab\t8\n"
      "tight{a=\"x\"}9\n");
  REQUIRE(samples.size() == 9);
  CHECK(samples[0].name == "up");
  CHECK(samples[0].labels.empty());
  CHECK(samples[0].value == 1);
  CHECK(samples[1].name == "indented_metric");
  CHECK(samples[1].value == 2.5);
  CHECK(samples[2].labels == Labels{{"a", "x"}, {"b", "y"}});
  CHECK(samples[2].value == -0.03);
  CHECK(samples[3].labels.empty());
  CHECK(samples[4].labels == Labels{{"a", "x"}});
  CHECK(samples[5].labels == Labels{{"a", "x"}, {"b", ""}});
  CHECK(samples[5].value == 6);
  CHECK(samples[6].name == "colon:name_total");
  CHECK(samples[7].value == 8);
  CHECK(samples[8].value == 9);  // Prometheus needs no blank between '}' and the value
}

TEST_CASE("parse_text reads special values and label escapes", "[metrics][parser]") {
  auto samples = parse_text(
      "a NaN\nb Nan\nc +Inf\nd -Inf\ne Inf\nf 1e400\ng +2\n"
      "esc{v=\"back\\\\slash \\\"quoted\\\" new\\nline\"} 1\n");
  REQUIRE(samples.size() == 8);
  CHECK(std::isnan(samples[0].value));
  CHECK(std::isnan(samples[1].value));
  CHECK(samples[2].value == std::numeric_limits<double>::infinity());
  CHECK(samples[3].value == -std::numeric_limits<double>::infinity());
  CHECK(samples[4].value == std::numeric_limits<double>::infinity());
  CHECK(samples[5].value == std::numeric_limits<double>::infinity());
  CHECK(samples[6].value == 2);
  CHECK(samples[7].labels == Labels{{"v", "back\\slash \"quoted\" new\nline"}});
}

TEST_CASE("parse_text rejects malformed lines with their number", "[metrics][parser]") {
  auto bad = GENERATE(as<std::string>{},
                      "1metric 1",                  // name starts with a digit
                      "metric",                     // no value
                      "metric abc",                 // not a number
                      "metric 1 2 3",               // text after the timestamp
                      "metric 1 1.5",               // timestamp not an integer
                      "metric{a=\"x\" 1",           // unclosed braces
                      "metric{a=x} 1",              // unquoted value
                      "metric{a=\"x} 1",            // unterminated value
                      "metric{a=\"\\t\"} 1",        // unknown escape
                      "metric{a=\"x\",a=\"y\"} 1",  // duplicate label
                      "metric{1a=\"x\"} 1",         // bad label name
                      "metric{a:b=\"x\"} 1",        // ':' in a label name
                      "metric{a=\"x\"}",            // labels but no value
                      "metric1",                    // a name only
                      "metric --1",                 // double sign
                      "metric nan(1)");             // from_chars-only spelling
  INFO(bad);
  std::string text = "# HELP ok fine\nok 1\n" + bad + "\nlater 2\n";
  CHECK_THROWS_WITH(parse_text(text), Catch::StartsWith("line 3: "));
}

TEST_CASE("find_sample matches a name and a label subset", "[metrics][parser]") {
  auto samples = parse_text(
      "m{cpu=\"0\",mode=\"idle\"} 1\n"
      "m{cpu=\"0\",mode=\"user\"} 2\n"
      "m{cpu=\"1\",mode=\"idle\"} 3\n"
      "other 4\n");
  CHECK(find_samples(samples, "m").size() == 3);
  CHECK(find_samples(samples, "m", {{"mode", "idle"}}).size() == 2);
  const auto* s = find_sample(samples, "m", {{"cpu", "0"}, {"mode", "user"}});
  REQUIRE(s != nullptr);
  CHECK(s->value == 2);
  CHECK(find_sample(samples, "m", {{"cpu", "2"}}) == nullptr);
  CHECK(find_sample(samples, "m", {{"nolabel", ""}}) == nullptr);
  CHECK(find_sample(samples, "other")->value == 4);
  CHECK(find_sample(samples, "missing") == nullptr);
  CHECK(afp::metrics::label_value(samples[0], "mode") == "idle");
  CHECK_FALSE(afp::metrics::label_value(samples[0], "nope").has_value());
}

TEST_CASE("parse_text reads back what TextWriter writes", "[metrics][parser]") {
  prometheus::Registry registry;
  auto& counter = prometheus::BuildCounter()
                      .Name("c_total")
                      .Help("A counter.\nWith a newline and a \\ backslash.")
                      .Register(registry);
  counter.Add({{"path", "a \"quoted\"\\ value\nwith newline"}}).Increment(3);
  counter.Add({{"path", ""}}).Increment(0.25);
  auto& gauge = prometheus::BuildGauge().Name("g").Help("A gauge.").Register(registry);
  gauge.Add({}).Set(std::nan(""));
  gauge.Add({{"x", "inf"}}).Set(std::numeric_limits<double>::infinity());
  gauge.Add({{"x", "-inf"}}).Set(-std::numeric_limits<double>::infinity());
  gauge.Add({{"x", "small"}}).Set(1.5e-300);
  auto& hist = prometheus::BuildHistogram().Name("h_seconds").Help("H.").Register(registry);
  auto& h = hist.Add({{"op", "lookup"}}, prometheus::Histogram::BucketBoundaries{0.1, 1, 3});
  h.Observe(0.05);
  h.Observe(2);
  h.Observe(7);
  auto& summary = prometheus::BuildSummary().Name("s").Help("S.").Register(registry);
  summary.Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}}).Observe(4);

  std::string text;
  afp::metrics::TextWriter writer(text);
  afp::test::write_families(writer, registry.Collect());
  // Streaming calls too.
  writer.family("streamed", "Streamed.", afp::metrics::MetricType::Gauge);
  writer.sample({{"a", "1"}, {"b", "two words"}}, 42);

  auto samples = parse_text(text);
  const auto* quoted =
      find_sample(samples, "c_total", {{"path", "a \"quoted\"\\ value\nwith newline"}});
  REQUIRE(quoted != nullptr);
  CHECK(quoted->value == 3);
  CHECK(find_sample(samples, "c_total", {{"path", ""}})->value == 0.25);
  auto gauges = find_samples(samples, "g");
  auto nan = std::find_if(gauges.begin(), gauges.end(), [](auto* s) { return s->labels.empty(); });
  REQUIRE(nan != gauges.end());
  CHECK(std::isnan((*nan)->value));
  CHECK(find_sample(samples, "g", {{"x", "inf"}})->value ==
        std::numeric_limits<double>::infinity());
  CHECK(find_sample(samples, "g", {{"x", "-inf"}})->value ==
        -std::numeric_limits<double>::infinity());
  CHECK(find_sample(samples, "g", {{"x", "small"}})->value == 1.5e-300);
  CHECK(find_sample(samples, "h_seconds_count", {{"op", "lookup"}})->value == 3);
  CHECK(find_sample(samples, "h_seconds_sum", {{"op", "lookup"}})->value == Approx(9.05));
  CHECK(find_sample(samples, "h_seconds_bucket", {{"op", "lookup"}, {"le", "0.1"}})->value == 1);
  CHECK(find_sample(samples, "h_seconds_bucket", {{"op", "lookup"}, {"le", "3"}})->value == 2);
  CHECK(find_sample(samples, "h_seconds_bucket", {{"op", "lookup"}, {"le", "+Inf"}})->value == 3);
  CHECK(find_sample(samples, "s", {{"quantile", "0.5"}})->value == 4);
  CHECK(find_sample(samples, "s_count")->value == 1);
  CHECK(find_sample(samples, "streamed", {{"b", "two words"}})->value == 42);

  // Every sample line gives exactly one sample.
  std::size_t lines = 0;
  for (std::size_t i = 0; i < text.size();) {
    auto end = text.find('\n', i);
    if (text[i] != '#') ++lines;
    i = end + 1;
  }
  CHECK(samples.size() == lines);
}
