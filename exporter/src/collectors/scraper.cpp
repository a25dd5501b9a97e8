#include "collectors/scraper.h"

#include "build_info.h"

namespace afp::collectors {

void CollectorHealth::record(const std::string& name, bool ok, std::uint64_t malformed_lines,
                             const std::string& error) {
  bool log_failure = false;
  bool log_recovery = false;
  {
    std::lock_guard lock(mutex_);
    auto it = states_.find(name);
    if (it == states_.end()) it = states_.emplace(name, State{}).first;
    State& state = it->second;
    state.parse_errors += malformed_lines;
    log_failure = !ok && !state.failing;
    log_recovery = ok && state.failing;
    state.failing = !ok;
  }
  if (log_failure) log_.error("collector failed", {{"collector", name}, {"err", error}});
  if (log_recovery) log_.info("collector recovered", {{"collector", name}});
}

std::uint64_t CollectorHealth::parse_errors(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = states_.find(name);
  return it == states_.end() ? 0 : it->second.parse_errors;
}

namespace {

// A successful collector's output, to `drain` (and out of the buffer) or, without one,
// into the buffer after the rest. Its deferred text is rendered here, piece by piece, each
// drained while the next is rendered.
void pass_on(std::string& buffer, const ScrapeContext& ctx, const Scraper::Drain& drain) {
  if (!drain) return append_shared(ctx, buffer);
  if (!buffer.empty()) drain(buffer);
  buffer.clear();
  if (!ctx.shared_text.empty()) drain(ctx.shared_text);
  if (ctx.deferred_text) ctx.deferred_text->render(drain);
}

}  // namespace

Scraper::Scraper(std::vector<NamedCollector> collectors, CollectorHealth& health)
    : collectors_(std::move(collectors)), health_(health) {}

std::vector<std::string> Scraper::names() const {
  std::vector<std::string> out;
  for (const auto& c : collectors_)
    out.push_back(c.name);
  return out;
}

void Scraper::scrape(metrics::TextWriter& out, std::chrono::steady_clock::time_point deadline,
                     const Drain& drain) const {
  struct Result {
    double seconds;
    bool ok;
  };
  std::vector<Result> results;
  results.reserve(collectors_.size());
  std::string& buffer = out.buffer();
  auto scrape_start = std::chrono::steady_clock::now();
  for (const auto& entry : collectors_)
    entry.collector->scrape_starting(scrape_start);
  for (const auto& entry : collectors_) {
    ScrapeContext ctx{out, 0, deadline, scrape_start};
    auto mark = buffer.size();
    auto start = std::chrono::steady_clock::now();
    std::string error;
    if (start >= deadline && !entry.collector->never_waits()) {
      // The scraper stopped waiting: answer with what there is, this one marked failed.
      error = "skipped: the scrape's deadline had passed";
    } else {
      try {
        entry.collector->collect(ctx);
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    bool ok = error.empty();
    if (!ok) buffer.resize(mark);  // never expose a half-written family
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    results.push_back({took.count(), ok});
    health_.record(entry.name, ok, ctx.malformed_lines, error);
    if (ok) pass_on(buffer, ctx, drain);
  }

  out.family("afp_exporter_scrape_collector_duration_seconds",
             "afp_exporter: Duration of a collector scrape.", metrics::MetricType::Gauge);
  for (std::size_t i = 0; i < collectors_.size(); ++i) {
    out.sample({{"collector", collectors_[i].name}}, results[i].seconds);
  }
  out.family("afp_exporter_scrape_collector_success",
             "afp_exporter: Whether a collector succeeded.", metrics::MetricType::Gauge);
  for (std::size_t i = 0; i < collectors_.size(); ++i) {
    out.sample({{"collector", collectors_[i].name}}, results[i].ok ? 1 : 0);
  }
  out.family("afp_exporter_parse_errors_total",
             "afp_exporter: Malformed input lines a collector skipped.",
             metrics::MetricType::Counter);
  for (const auto& entry : collectors_) {
    out.sample({{"collector", entry.name}}, static_cast<double>(health_.parse_errors(entry.name)));
  }
  out.family("afp_exporter_build_info",
             "A metric with a constant '1' value labeled by version and revision of afp_exporter.",
             metrics::MetricType::Gauge);
  out.sample({{"version", kVersion}, {"revision", kRevision}}, 1);
  if (drain) {
    drain(buffer);
    buffer.clear();
  }
}

}  // namespace afp::collectors
