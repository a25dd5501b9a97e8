// The scraper past the scrape's deadline: a collector that may wait is skipped and marked
// failed; one that only copies memory (the pipeline's histograms, the probe) still runs.
#include "collectors/scraper.h"

#include <catch2/catch.hpp>
#include <sstream>
#include <thread>

using namespace afp;
using Clock = std::chrono::steady_clock;

namespace {

class Sleeper final : public collectors::Collector {
 public:
  explicit Sleeper(std::chrono::milliseconds how_long) : how_long_(how_long) {}
  void collect(collectors::ScrapeContext& ctx) override {
    std::this_thread::sleep_for(how_long_);
    ctx.out.family("sleeper_done", "Done.", metrics::MetricType::Gauge);
    ctx.out.sample({}, 1);
  }

 private:
  std::chrono::milliseconds how_long_;
};

class Writer final : public collectors::Collector {
 public:
  Writer(std::string metric, bool never_waits)
      : metric_(std::move(metric)), instant_(never_waits) {}
  void collect(collectors::ScrapeContext& ctx) override {
    ctx.out.family(metric_, "Written.", metrics::MetricType::Gauge);
    ctx.out.sample({}, 1);
  }
  bool never_waits() const override { return instant_; }

 private:
  std::string metric_;
  bool instant_;
};

}  // namespace

TEST_CASE("past the deadline, collectors that may wait are skipped and in-memory ones still run",
          "[collector]") {
  log::Logger quiet(log::Level::error);
  collectors::CollectorHealth health(quiet);
  std::vector<collectors::NamedCollector> list;
  list.push_back({"database", std::make_unique<Sleeper>(std::chrono::milliseconds(60))});
  list.push_back({"host", std::make_unique<Writer>("host_value", false)});
  list.push_back({"pipeline", std::make_unique<Writer>("pipeline_value", true)});
  collectors::Scraper scraper(std::move(list), health);

  std::string text;
  metrics::TextWriter out(text);
  scraper.scrape(out, Clock::now() + std::chrono::milliseconds(20));

  CHECK_THAT(text, Catch::Contains("sleeper_done 1"));  // it began before the deadline
  CHECK_THAT(text, !Catch::Contains("host_value"));
  CHECK_THAT(text, Catch::Contains("afp_exporter_scrape_collector_success{collector=\"host\"} 0"));
  CHECK_THAT(text, Catch::Contains("pipeline_value 1"));
  CHECK_THAT(text,
             Catch::Contains("afp_exporter_scrape_collector_success{collector=\"pipeline\"} 1"));
}

namespace {

// Writes a family, then fails: what it wrote must never reach the client.
class HalfWriter final : public collectors::Collector {
 public:
  void collect(collectors::ScrapeContext& ctx) override {
    ctx.out.family("half_written", "Never complete.", metrics::MetricType::Gauge);
    ctx.out.sample({}, 1);
    throw collectors::CollectError("failed after writing");
  }
};

}  // namespace

TEST_CASE("drained, the scrape hands over each collector's text whole, a failed one's never",
          "[collector]") {
  log::Logger quiet(log::Level::error);
  collectors::CollectorHealth health(quiet);
  std::vector<collectors::NamedCollector> list;
  list.push_back({"first", std::make_unique<Writer>("first_value", false)});
  list.push_back({"broken", std::make_unique<HalfWriter>()});
  list.push_back({"last", std::make_unique<Writer>("last_value", false)});
  collectors::Scraper scraper(std::move(list), health);

  std::string whole;
  metrics::TextWriter whole_out(whole);
  scraper.scrape(whole_out);

  std::vector<std::string> handed;
  std::string buffer;
  metrics::TextWriter out(buffer);
  std::size_t largest_buffer = 0;
  scraper.scrape(out, Clock::time_point::max(), [&](std::string& text) {
    largest_buffer = std::max(largest_buffer, text.size());
    handed.push_back(text);
  });

  REQUIRE(handed.size() == 3);  // first, last, then the self-metrics
  CHECK(handed[0] == "# HELP first_value Written.\n# TYPE first_value gauge\nfirst_value 1\n");
  CHECK(handed[1] == "# HELP last_value Written.\n# TYPE last_value gauge\nlast_value 1\n");
  CHECK_THAT(handed[2], Catch::StartsWith("# HELP afp_exporter_scrape_collector_duration_seconds"));
  CHECK_THAT(handed[2],
             Catch::Contains("afp_exporter_scrape_collector_success{collector=\"broken\"} 0"));
  CHECK(buffer.empty());
  // The same exposition as gathered whole, but for the durations of this scrape.
  auto strip_durations = [](const std::string& text) {
    std::string kept;
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) {
      if (!line.starts_with("afp_exporter_scrape_collector_duration_seconds{")) kept += line + "\n";
    }
    return kept;
  };
  std::string joined;
  for (const auto& piece : handed)
    joined += piece;
  CHECK(strip_durations(joined) == strip_durations(whole));
  CHECK_THAT(joined, !Catch::Contains("half_written"));
}
