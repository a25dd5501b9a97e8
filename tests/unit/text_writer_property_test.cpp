// TextWriter against prometheus-cpp 1.0.1's TextSerializer on random families, and the
// streaming API (family()/sample()) against writing MetricFamily objects
// (support/metric_family_writer.h). text_writer_test.cpp holds the
// hand-picked cases.

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "metrics/text_writer.h"
#include "text_writer_support.h"

namespace {

using namespace afp::test::text_writer;

// ----- Property test ------------------------------------------------------------------

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng_);
  }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  // Doubles from several distributions, so every formatting branch gets exercised.
  double value() {
    switch (below(9)) {
      case 0:  // small integers, the common case (bytes, counts, seconds)
        return static_cast<double>(
            std::uniform_int_distribution<std::int64_t>(-100000, 100000)(rng_));
      case 1: {  // integers of every magnitude up to 2^64, and around 2^53
        if (chance(0.5)) {
          double v = std::ldexp(1.0, static_cast<int>(below(65)));
          return std::trunc(v * std::uniform_real_distribution<double>(0.5, 1.0)(rng_)) *
                 (chance(0.3) ? -1 : 1);
        }
        return kTwo53 +
               static_cast<double>(std::uniform_int_distribution<std::int64_t>(-40, 40)(rng_));
      }
      case 2:  // small fractions
        return std::uniform_real_distribution<double>(-1.0, 1.0)(rng_);
      case 3:  // short decimals such as 0.25, 12.5, 0.005
        return static_cast<double>(
                   std::uniform_int_distribution<std::int64_t>(-100000, 100000)(rng_)) /
               std::pow(10.0, static_cast<double>(below(8)));
      case 4: {  // huge and tiny exponents over the whole range, subnormals included
        double mantissa = std::uniform_real_distribution<double>(0.5, 1.0)(rng_);
        int exponent = static_cast<int>(below(2100)) - 1075;
        return std::ldexp(mantissa, exponent) * (chance(0.5) ? -1 : 1);
      }
      case 5:  // decimal powers with few digits: 1e-7, 3e21, ...
        return static_cast<double>(below(10) + 1) *
               std::pow(10.0, static_cast<double>(static_cast<int>(below(60)) - 30));
      case 6:  // around the %.16g switch between fixed and exponent notation
        return std::uniform_real_distribution<double>(0.5, 10.0)(rng_) *
               std::pow(10.0, static_cast<double>(chance(0.5) ? below(4) + 14 : below(4) + 3) *
                                  (chance(0.5) ? 1 : -1));
      case 7: {  // specials
        static const double kSpecial[] = {0.0,
                                          -0.0,
                                          kNaN,
                                          -kNaN,
                                          kInf,
                                          -kInf,
                                          DBL_MAX,
                                          -DBL_MAX,
                                          DBL_MIN,
                                          DBL_EPSILON,
                                          std::numeric_limits<double>::denorm_min(),
                                          0.1,
                                          1.0 / 3.0,
                                          kTwo53};
        return kSpecial[below(std::size(kSpecial))];
      }
      default:  // a random bit pattern: any double at all, NaN payloads included
        return std::bit_cast<double>(static_cast<std::uint64_t>(rng_()));
    }
  }

  std::uint64_t count() {
    switch (below(4)) {
      case 0:
        return below(1000);
      case 1:
        return rng_();
      case 2:
        return kU64Max - below(1000);
      default:
        return rng_() >> below(64);
    }
  }

  std::int64_t timestamp() {
    if (chance(0.8)) return 0;
    if (chance(0.5)) return 1600000000000 + static_cast<std::int64_t>(below(200000000000));
    return static_cast<std::int64_t>(rng_());
  }

  std::string name() {
    static constexpr char kFirst[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:";
    static constexpr char kRest[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_:0123456789";
    std::string s(1, kFirst[below(sizeof kFirst - 1)]);
    for (std::uint64_t i = below(20); i > 0; --i)
      s += kRest[below(sizeof kRest - 1)];
    return s;
  }

  // Label values: printable ASCII, the three escapes, other control bytes and UTF-8.
  std::string label_value() {
    static const char* const kPieces[] = {"\\", "\"", "\n", "\\n", "é", "日本", "🎵", "\t",
                                          "\r", " ",  "{",  "}",   ",", "=",    "#", "\xc3"};
    std::string s;
    for (std::uint64_t i = below(12); i > 0; --i) {
      if (chance(0.25)) {
        s += kPieces[below(std::size(kPieces))];
      } else {
        s += static_cast<char>(0x20 + below(0x5f));
      }
    }
    return s;
  }

  // HELP free of '\\' and '\n', where TextSerializer and TextWriter agree.
  std::string help() {
    if (chance(0.3)) return {};
    static const char* const kPieces[] = {"é", "日本", "🎵", "\"", "\t", "#"};
    std::string s;
    for (std::uint64_t i = below(40) + 1; i > 0; --i) {
      if (chance(0.1)) {
        s += kPieces[below(std::size(kPieces))];
      } else {
        char c = static_cast<char>(0x20 + below(0x5f));
        s += c == '\\' ? '/' : c;
      }
    }
    return s;
  }

  MetricFamily family() {
    static constexpr MetricType kTypes[] = {MetricType::Counter, MetricType::Gauge,
                                            MetricType::Summary, MetricType::Untyped,
                                            MetricType::Histogram};
    MetricFamily f;
    f.name = name();
    f.help = help();
    f.type = kTypes[below(std::size(kTypes))];
    std::uint64_t label_count = below(5);
    std::vector<std::string> label_names;
    for (std::uint64_t i = 0; i < label_count; ++i)
      label_names.push_back(name());
    for (std::uint64_t n = chance(0.05) ? 0 : below(8) + 1; n > 0; --n) {
      ClientMetric m;
      for (const auto& label_name : label_names)
        m.label.push_back({label_name, label_value()});
      m.timestamp_ms = timestamp();
      switch (f.type) {
        case MetricType::Counter:
          m.counter.value = value();
          break;
        case MetricType::Gauge:
          m.gauge.value = value();
          break;
        case MetricType::Untyped:
          m.untyped.value = value();
          break;
        case MetricType::Summary:
          m.summary.sample_count = count();
          m.summary.sample_sum = value();
          for (std::uint64_t q = below(5); q > 0; --q)
            m.summary.quantile.push_back({value(), value()});
          break;
        case MetricType::Histogram: {
          m.histogram.sample_count = count();
          m.histogram.sample_sum = value();
          std::vector<double> bounds;
          for (std::uint64_t b = below(7); b > 0; --b)
            bounds.push_back(value());
          if (chance(0.8)) std::sort(bounds.begin(), bounds.end());
          if (chance(0.4)) bounds.push_back(kInf);
          for (double bound : bounds)
            m.histogram.bucket.push_back({count(), bound});
          break;
        }
      }
      f.metric.push_back(std::move(m));
    }
    return f;
  }

 private:
  std::mt19937_64 rng_;
};

constexpr std::uint64_t kSeed = 0x5eed'afb0'2024'0001;

TEST_CASE("text_writer: random families match TextSerializer byte for byte",
          "[text_writer][property]") {
  Generator gen(kSeed);
  INFO("std::mt19937_64 seed " << kSeed);
  std::size_t families = 0;
  for (int round = 0; round < 40; ++round) {
    std::vector<MetricFamily> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back(gen.family());
    families += batch.size();
    INFO("round " << round);
    std::string expected = serializer_text(batch);
    std::string actual = writer_text(batch);
    REQUIRE(same_bytes(expected, actual));
  }
  CHECK(families == 4000);
}

TEST_CASE("text_writer: random doubles print as TextSerializer prints them",
          "[text_writer][property]") {
  Generator gen(kSeed + 1);
  INFO("std::mt19937_64 seed " << kSeed + 1);
  for (int round = 0; round < 10; ++round) {
    MetricFamily f = family("v", "", MetricType::Gauge, {});
    for (int i = 0; i < 20000; ++i)
      f.metric.push_back(scalar(MetricType::Gauge, gen.value()));
    INFO("round " << round);
    REQUIRE(same_bytes(serializer_text({f}), writer_text({f})));
  }
}

// ----- Streaming API ------------------------------------------------------------------

TEST_CASE("text_writer: family()/sample() write the same bytes as the MetricFamily writer",
          "[text_writer]") {
  SECTION("initializer-list labels") {
    std::string streamed;
    TextWriter w(streamed);
    w.family("node_load1", "1m load average.", WriterType::Gauge);
    w.sample({}, 0.25);
    w.family("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", WriterType::Counter);
    w.sample({{"cpu", "0"}, {"mode", "idle"}}, 12345.67);
    w.sample({{"cpu", "0"}, {"mode", "user\\\"\n"}}, 1e21);

    std::vector<MetricFamily> families = {
        family("node_load1", "1m load average.", MetricType::Gauge,
               {scalar(MetricType::Gauge, 0.25)}),
        family("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
               MetricType::Counter,
               {scalar(MetricType::Counter, 12345.67, {{"cpu", "0"}, {"mode", "idle"}}),
                scalar(MetricType::Counter, 1e21, {{"cpu", "0"}, {"mode", "user\\\"\n"}})})};
    CHECK(same_bytes(writer_text(families), streamed));
    CHECK(same_bytes(serializer_text(families), streamed));
  }

  SECTION("summary and histogram lines through suffixes and an extra label") {
    std::string streamed;
    TextWriter w(streamed);
    w.family("rpc_seconds", "RPC latency.", WriterType::Summary);
    w.sample("_count", {{"svc", "a"}}, 7);
    w.sample("_sum", {{"svc", "a"}}, 1.25);
    w.sample("", {{"svc", "a"}, {"quantile", "0.5"}}, 0.1);
    w.family("lat_seconds", "", WriterType::Histogram);
    w.sample("_count", {}, 5);
    w.sample("_sum", {}, 2.5);
    w.sample("_bucket", {{"le", "0.1"}}, 3);
    w.sample("_bucket", {{"le", "+Inf"}}, 5);

    std::vector<MetricFamily> families = {
        family("rpc_seconds", "RPC latency.", MetricType::Summary,
               {summary(7, 1.25, {{0.5, 0.1}}, {{"svc", "a"}})}),
        family("lat_seconds", "", MetricType::Histogram, {histogram(5, 2.5, {{0.1, 3}})})};
    CHECK(same_bytes(writer_text(families), streamed));
  }

  SECTION("random scalar families with run-time label vectors") {
    Generator gen(kSeed + 2);
    INFO("std::mt19937_64 seed " << kSeed + 2);
    for (int round = 0; round < 20; ++round) {
      std::vector<MetricFamily> families;
      std::string streamed;
      TextWriter w(streamed);
      for (int i = 0; i < 50; ++i) {
        MetricFamily f = gen.family();
        if (f.type == MetricType::Summary || f.type == MetricType::Histogram) continue;
        w.family(f.name, f.help, afp::test::to_afp(f.type));
        for (auto& m : f.metric) {
          m.timestamp_ms = 0;  // the streaming API writes no timestamps
          std::vector<LabelRef> labels;
          for (const auto& label : m.label)
            labels.push_back({label.name, label.value});
          double v = f.type == MetricType::Counter ? m.counter.value
                     : f.type == MetricType::Gauge ? m.gauge.value
                                                   : m.untyped.value;
          w.sample("", labels, v);
        }
        families.push_back(std::move(f));
      }
      INFO("round " << round);
      REQUIRE(same_bytes(writer_text(families), streamed));
      REQUIRE(same_bytes(serializer_text(families), streamed));
    }
  }
}

TEST_CASE("text_writer: a rendered label set writes the same bytes as sample()", "[text_writer]") {
  std::vector<LabelRef> labels{{"datname", "fp"}, {"user", "a\"b\\c\nd"}, {"queryid", "-42"}};
  std::string direct;
  TextWriter a(direct);
  a.family("pg_x_total", "X.", WriterType::Counter);
  a.sample("", labels, 0.25);
  a.sample("", {}, 3);
  std::string rendered;
  TextWriter b(rendered);
  b.family("pg_x_total", "X.", WriterType::Counter);
  b.sample_rendered(render_labels(labels), 0.25);
  b.sample_rendered(render_labels(std::vector<LabelRef>{}), 3);
  CHECK(same_bytes(direct, rendered));
  CHECK(render_labels(labels) == "{datname=\"fp\",user=\"a\\\"b\\\\c\\nd\",queryid=\"-42\"}");
  CHECK(render_labels(std::vector<LabelRef>{}).empty());
}

}  // namespace
