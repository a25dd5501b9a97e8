#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"
#include "log/logger.h"

namespace afp::collectors {

struct NamedCollector {
  std::string name;
  std::unique_ptr<Collector> collector;
};

// Per-collector state that must outlive a config reload: the parse-error totals (a
// counter must not reset) and whether the collector was failing, so that a failure is
// logged once when it starts and once when it ends, not on every scrape.
class CollectorHealth {
 public:
  explicit CollectorHealth(log::Logger& log) : log_(log) {}

  void record(const std::string& name, bool ok, std::uint64_t malformed_lines,
              const std::string& error);
  std::uint64_t parse_errors(const std::string& name) const;

 private:
  struct State {
    bool failing = false;
    std::uint64_t parse_errors = 0;
  };
  log::Logger& log_;
  mutable std::mutex mutex_;
  std::map<std::string, State, std::less<>> states_;
};

// Runs a fixed set of collectors into one exposition and appends the scrape self-metrics.
// Holds no per-scrape state, so concurrent scrapes never wait on each other here.
class Scraper {
 public:
  Scraper(std::vector<NamedCollector> collectors, CollectorHealth& health);

  // Takes a collector's text once the collector has succeeded: what it wrote into the
  // writer's buffer, then its shared text (ScrapeContext::shared_text), then its deferred
  // text in the pieces it is rendered in (valid during the call only).
  using Drain = std::function<void(std::string_view text)>;

  // With `drain`, out's buffer holds one collector's output at a time: each is handed
  // over (and cleared) when complete, the self-metrics last. Without, it gathers the whole.
  // Every collector hears of the scrape (scrape_starting) before the first one collects.
  void scrape(
      metrics::TextWriter& out,
      std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max(),
      const Drain& drain = {}) const;

  std::vector<std::string> names() const;

 private:
  std::vector<NamedCollector> collectors_;
  CollectorHealth& health_;
};

}  // namespace afp::collectors
