// Serialises the same 15,000 gauge series (3 labels each) with prometheus-cpp's
// TextSerializer and with afp::metrics::TextWriter, 20 times each, and prints the mean.
// TextWriter writes them twice: from the MetricFamily objects (through the tests' adapter,
// support/metric_family_writer.h) and streamed as the collectors write.
//
//   writer_bench [repeats]

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "metrics/text_writer.h"
#include "support/metric_family_writer.h"

namespace {

constexpr int kFamilies = 10;
constexpr int kSeriesPerFamily = 1500;  // 15,000 series in all

std::vector<prometheus::MetricFamily> make_families() {
  std::mt19937_64 rng(20240601);
  std::vector<prometheus::MetricFamily> families;
  for (int f = 0; f < kFamilies; ++f) {
    prometheus::MetricFamily family;
    family.name = "afp_bench_gauge_" + std::to_string(f);
    family.help = "Benchmark gauge family " + std::to_string(f) + ".";
    family.type = prometheus::MetricType::Gauge;
    for (int s = 0; s < kSeriesPerFamily; ++s) {
      prometheus::ClientMetric m;
      m.label = {{"instance", "db-" + std::to_string(s % 40)},
                 {"datname", "fp_" + std::to_string(s / 40)},
                 {"queryid", std::to_string(rng() % 100000)}};
      // A realistic mix: integral counts and bytes, seconds with fractions, ratios 0-1.
      switch (s % 3) {
        case 0:
          m.gauge.value = static_cast<double>(rng() % 100000000000ULL);
          break;
        case 1:
          m.gauge.value = static_cast<double>(rng() % 10000000) / 1000.0;
          break;
        default:
          m.gauge.value = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
          break;
      }
      family.metric.push_back(std::move(m));
    }
    families.push_back(std::move(family));
  }
  return families;
}

// Mean wall time in ms of `repeats` runs, after one warm-up run.
double mean_ms(int repeats, const std::function<std::size_t()>& run, std::size_t& bytes) {
  bytes = run();
  double total = 0;
  for (int i = 0; i < repeats; ++i) {
    auto start = std::chrono::steady_clock::now();
    bytes = run();
    total +=
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  }
  return total / repeats;
}

}  // namespace

int main(int argc, char** argv) {
  int repeats = argc > 1 ? std::atoi(argv[1]) : 20;
  if (repeats <= 0) repeats = 20;
  const auto families = make_families();

  // The two outputs must be the same bytes (no HELP here needs escaping).
  std::string reference = prometheus::TextSerializer().Serialize(families);
  std::string ours;
  afp::metrics::TextWriter writer(ours);
  afp::test::write_families(writer, families);
  if (reference != ours) {
    std::fprintf(stderr, "writer_bench: TextWriter output differs from TextSerializer\n");
    return 1;
  }

  std::size_t serializer_bytes = 0;
  std::size_t writer_bytes = 0;
  std::size_t streaming_bytes = 0;
  double serializer_ms = mean_ms(
      repeats, [&] { return prometheus::TextSerializer().Serialize(families).size(); },
      serializer_bytes);
  double writer_ms = mean_ms(
      repeats,
      [&] {
        std::string out;
        afp::metrics::TextWriter w(out);
        afp::test::write_families(w, families);
        return out.size();
      },
      writer_bytes);
  // How collectors use it: family() then sample() per series, labels by reference.
  double streaming_ms = mean_ms(
      repeats,
      [&] {
        std::string out;
        afp::metrics::TextWriter w(out);
        std::vector<afp::metrics::LabelRef> labels;
        for (const auto& family : families) {
          w.family(family.name, family.help, afp::test::to_afp(family.type));
          for (const auto& m : family.metric) {
            labels.clear();
            for (const auto& label : m.label)
              labels.push_back({label.name, label.value});
            w.sample("", labels, m.gauge.value);
          }
        }
        return out.size();
      },
      streaming_bytes);

  std::printf("series: %d gauges x 3 labels, %zu bytes of text, %d repeats\n",
              kFamilies * kSeriesPerFamily, reference.size(), repeats);
  std::printf("TextSerializer           mean %8.3f ms (%zu bytes)\n", serializer_ms,
              serializer_bytes);
  std::printf("TextWriter MetricFamily  mean %8.3f ms (%zu bytes)\n", writer_ms, writer_bytes);
  std::printf("TextWriter family/sample mean %8.3f ms (%zu bytes)\n", streaming_ms,
              streaming_bytes);
  std::printf("ratio TextSerializer / TextWriter MetricFamily  = %.2fx\n",
              serializer_ms / writer_ms);
  std::printf("ratio TextSerializer / TextWriter family/sample = %.2fx\n",
              serializer_ms / streaming_ms);
  return 0;
}
