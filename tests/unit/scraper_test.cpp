// The scraper past the scrape's deadline: a collector that may wait is skipped and marked
// failed; one that only copies memory (the pipeline's histograms, the probe) still runs.
#include "collectors/scraper.h"

#include <atomic>
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
  scraper.scrape(out, Clock::time_point::max(), [&](std::string_view text) {
    largest_buffer = std::max(largest_buffer, text.size());
    handed.emplace_back(text);
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

namespace {

// Text kept outside the scrape (as PostgreSQL's snapshot is), handed over by reference;
// optionally failing after naming it, which must leave nothing behind.
class SharedTextCollector final : public collectors::Collector {
 public:
  SharedTextCollector(std::shared_ptr<const std::string> text, bool fail_after)
      : text_(std::move(text)), fail_after_(fail_after) {}
  void collect(collectors::ScrapeContext& ctx) override {
    ctx.out.family("own_value", "Written.", metrics::MetricType::Gauge);
    ctx.out.sample({}, 2);
    ctx.shared_text = *text_;
    ctx.shared_owner = text_;
    if (fail_after_) throw collectors::CollectError("failed after naming its text");
  }

 private:
  std::shared_ptr<const std::string> text_;
  bool fail_after_;
};

// Records, in one log every collector shares, when it heard of the scrape and collected.
class Announced final : public collectors::Collector {
 public:
  Announced(std::string name, std::vector<std::string>& events)
      : name_(std::move(name)), events_(events) {}
  void scrape_starting(Clock::time_point) override { events_.push_back("starting " + name_); }
  void collect(collectors::ScrapeContext&) override { events_.push_back("collect " + name_); }

 private:
  std::string name_;
  std::vector<std::string>& events_;
};

}  // namespace

TEST_CASE("a collector's shared text follows its own, uncopied when drained, never on failure",
          "[collector]") {
  log::Logger quiet(log::Level::error);
  collectors::CollectorHealth health(quiet);
  auto shared = std::make_shared<const std::string>("shared_value 3\n");
  std::vector<collectors::NamedCollector> list;
  list.push_back({"shares", std::make_unique<SharedTextCollector>(shared, false)});
  list.push_back({"fails", std::make_unique<SharedTextCollector>(shared, true)});
  collectors::Scraper scraper(std::move(list), health);

  std::string whole;
  metrics::TextWriter whole_out(whole);
  scraper.scrape(whole_out);
  CHECK_THAT(whole, Catch::StartsWith("# HELP own_value Written.\n# TYPE own_value gauge\n"
                                      "own_value 2\nshared_value 3\n# HELP afp_exporter_"));
  CHECK(whole.find("shared_value") == whole.rfind("shared_value"));  // not the failed one's

  std::vector<std::string_view> handed;
  std::string buffer;
  metrics::TextWriter out(buffer);
  scraper.scrape(out, Clock::time_point::max(), [&](std::string_view text) {
    if (text.find("afp_exporter_") == std::string_view::npos) handed.push_back(text);
  });
  REQUIRE(handed.size() == 2);
  CHECK(handed[1] == *shared);
  CHECK(handed[1].data() == shared->data());  // the collector's own memory, not a copy
}

namespace {

// Text rendered as it is sent, in the given pieces; counts its renderings.
class PiecesText final : public metrics::DeferredText {
 public:
  explicit PiecesText(std::vector<std::string> pieces) : pieces_(std::move(pieces)) {}
  void render(const Emit& emit) const override {
    ++renderings;
    std::string piece;  // reused: a piece is valid during its emit only
    for (const auto& p : pieces_) {
      piece = p;
      emit(piece);
    }
  }
  mutable std::atomic<int> renderings = 0;

 private:
  std::vector<std::string> pieces_;
};

class DeferredTextCollector final : public collectors::Collector {
 public:
  DeferredTextCollector(std::shared_ptr<const PiecesText> text, bool fail_after)
      : text_(std::move(text)), fail_after_(fail_after) {}
  void collect(collectors::ScrapeContext& ctx) override {
    ctx.out.family("own_value", "Written.", metrics::MetricType::Gauge);
    ctx.out.sample({}, 2);
    ctx.deferred_text = text_;
    if (fail_after_) throw collectors::CollectError("failed after naming its text");
  }

 private:
  std::shared_ptr<const PiecesText> text_;
  bool fail_after_;
};

}  // namespace

TEST_CASE(
    "a collector's deferred text is rendered after its own, piece by piece, never on "
    "failure",
    "[collector]") {
  log::Logger quiet(log::Level::error);
  collectors::CollectorHealth health(quiet);
  auto deferred = std::make_shared<const PiecesText>(
      std::vector<std::string>{"deferred_value{n=\"1\"} 3\n", "deferred_value{n=\"2\"} 4\n"});
  auto failing = std::make_shared<const PiecesText>(std::vector<std::string>{"never 1\n"});
  std::vector<collectors::NamedCollector> list;
  list.push_back({"defers", std::make_unique<DeferredTextCollector>(deferred, false)});
  list.push_back({"fails", std::make_unique<DeferredTextCollector>(failing, true)});
  collectors::Scraper scraper(std::move(list), health);

  std::string whole;
  metrics::TextWriter whole_out(whole);
  scraper.scrape(whole_out);
  CHECK_THAT(whole, Catch::StartsWith("# HELP own_value Written.\n# TYPE own_value gauge\n"
                                      "own_value 2\ndeferred_value{n=\"1\"} 3\n"
                                      "deferred_value{n=\"2\"} 4\n# HELP afp_exporter_"));
  CHECK(whole.find("never") == std::string::npos);

  std::vector<std::string> handed;
  std::string buffer;
  metrics::TextWriter out(buffer);
  scraper.scrape(out, Clock::time_point::max(), [&](std::string_view text) {
    if (text.find("afp_exporter_") == std::string_view::npos) handed.emplace_back(text);
  });
  CHECK(handed == std::vector<std::string>{"# HELP own_value Written.\n# TYPE own_value gauge\n"
                                           "own_value 2\n",
                                           "deferred_value{n=\"1\"} 3\n",
                                           "deferred_value{n=\"2\"} 4\n"});
  CHECK(deferred->renderings == 2);
  CHECK(failing->renderings == 0);  // a failed collector's text is never rendered
}

TEST_CASE("every collector hears of the scrape before the first one collects", "[collector]") {
  log::Logger quiet(log::Level::error);
  collectors::CollectorHealth health(quiet);
  std::vector<std::string> events;
  std::vector<collectors::NamedCollector> list;
  list.push_back({"a", std::make_unique<Announced>("a", events)});
  list.push_back({"b", std::make_unique<Announced>("b", events)});
  collectors::Scraper scraper(std::move(list), health);
  std::string text;
  metrics::TextWriter out(text);
  scraper.scrape(out);
  CHECK(events == std::vector<std::string>{"starting a", "starting b", "collect a", "collect b"});
}
