#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "metrics/deferred_text.h"
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
  // Text kept elsewhere that goes out after `out`'s, once the collector has succeeded,
  // without being copied: PostgreSQL's parts are megabytes, already shared by every scrape
  // of one collection. `shared_owner` keeps it alive until it is sent.
  std::string_view shared_text{};
  std::shared_ptr<const void> shared_owner{};
  // Then text rendered only as it goes out (pg_stat_statements' thousands of series): the
  // collector has succeeded before a byte of it is rendered, and rendering cannot fail.
  std::shared_ptr<const metrics::DeferredText> deferred_text{};
};

// What a successful collector left besides `out`'s text (shared_text, then deferred_text),
// appended to `text`.
inline void append_shared(const ScrapeContext& ctx, std::string& text) {
  text.append(ctx.shared_text);
  if (ctx.deferred_text) metrics::append_rendered(*ctx.deferred_text, text);
}

// A collector writes whole metric families into ctx.out. It throws CollectError when it
// cannot produce its output; the scraper then discards whatever it had written, so a
// failed collector never leaves half a family behind. Collectors are called from several
// scrapes at once and must be safe for that.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual void collect(ScrapeContext& ctx) = 0;
  // Called on every collector of a scrape before the first one collects: a collector whose
  // data is gathered on another thread (PostgreSQL's) starts gathering it here, so that it
  // overlaps with the collectors that run before it.
  virtual void scrape_starting(std::chrono::steady_clock::time_point /*scrape_start*/) {}
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
