#include "pg/collectors.h"

namespace afp::pg {

namespace {

// A collector over the shared PostgreSQL source: the scrape's first word starts the
// collection, so that it overlaps with the collectors that run before this one.
class SourceCollector : public collectors::Collector {
 public:
  void scrape_starting(Clock::time_point scrape_start) final { source_->prefetch(scrape_start); }

 protected:
  explicit SourceCollector(std::shared_ptr<Source> source) : source_(std::move(source)) {}

  std::shared_ptr<Source> source_;
};

class PartCollector final : public SourceCollector {
 public:
  PartCollector(std::shared_ptr<Source> source, std::string name)
      : SourceCollector(std::move(source)), name_(std::move(name)) {}

  void collect(collectors::ScrapeContext& ctx) override {
    auto snapshot = source_->snapshot(ctx.scrape_start, ctx.deadline);
    auto it = snapshot->parts.find(name_);
    if (it == snapshot->parts.end()) {
      throw collectors::CollectError(snapshot->error.empty() ? "no result" : snapshot->error);
    }
    if (!it->second.ok) throw collectors::CollectError(it->second.error);
    ctx.shared_text = it->second.text;
    ctx.deferred_text = it->second.deferred;
    ctx.shared_owner = std::move(snapshot);
  }

 private:
  std::string name_;
};

class UpCollector final : public SourceCollector {
 public:
  explicit UpCollector(std::shared_ptr<Source> source) : SourceCollector(std::move(source)) {}

  void collect(collectors::ScrapeContext& ctx) override {
    auto snapshot = source_->snapshot(ctx.scrape_start, ctx.deadline);
    // Not waiting long enough says nothing about PostgreSQL: no pg_up 0 for it.
    if (snapshot->timed_out) throw collectors::CollectError(snapshot->error);
    ctx.out.family("pg_up", "Whether the last connection to PostgreSQL was successful.",
                   metrics::MetricType::Gauge);
    ctx.out.sample({}, snapshot->up ? 1 : 0);
    // postgres_exporter's name, type, help text and (no) labels; only while up, as there
    // (a down server has no start time, and an old one would read as a live value).
    if (snapshot->postmaster_start) {
      ctx.out.family("pg_postmaster_start_time_seconds", "Time at which postmaster started",
                     metrics::MetricType::Gauge);
      ctx.out.sample({}, *snapshot->postmaster_start);
    }
  }
};

}  // namespace

std::unique_ptr<collectors::Collector> make_collector(std::shared_ptr<Source> source,
                                                      std::string name) {
  return std::make_unique<PartCollector>(std::move(source), std::move(name));
}

std::unique_ptr<collectors::Collector> make_up_collector(std::shared_ptr<Source> source) {
  return std::make_unique<UpCollector>(std::move(source));
}

}  // namespace afp::pg
