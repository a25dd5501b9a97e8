// The scraper past the scrape's deadline: a collector that may wait is skipped and marked
// failed; one that only copies memory (the pipeline's histograms, the probe) still runs.
#include "collectors/scraper.h"

#include <catch2/catch.hpp>
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
