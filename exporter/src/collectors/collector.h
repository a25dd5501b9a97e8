#pragma once

#include <chrono>
#include <cstdint>
#include <stdexcept>

#include "metrics/text_writer.h"

namespace afp::collectors {

// What one collector sees of one scrape.
struct ScrapeContext {
  metrics::TextWriter& out;
  // Input lines the collector could not parse and skipped; the scraper turns them
  // into afp_exporter_parse_errors_total{collector}.
  std::uint64_t malformed_lines = 0;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  // When the scrape began: collectors that share one expensive collection (PostgreSQL)
  // reuse a result taken after this instant.
  std::chrono::steady_clock::time_point scrape_start = std::chrono::steady_clock::now();
};

// A collector writes whole metric families into ctx.out. It throws CollectError when it
// cannot produce its output; the scraper then discards whatever it had written, so a
// failed collector never leaves half a family behind. Collectors are called from several
// scrapes at once and must be safe for that.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual void collect(ScrapeContext& ctx) = 0;
  // A collector that only copies state kept in memory costs microseconds: it runs even
  // once the scrape's deadline has passed, so a slow database cannot blind the pipeline's
  // histograms and the probe as well.
  virtual bool never_waits() const { return false; }
};

class CollectError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace afp::collectors
