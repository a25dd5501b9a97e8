#include "pipeline/collectors.h"

#include "pipeline/probe.h"
#include "pipeline/store.h"

namespace afp::pipeline {

namespace {

// Both just publish state kept elsewhere: the store fills as observations arrive, the
// probe as its runs finish; a scrape never waits for either.
template <typename Source>
class SnapshotCollector : public collectors::Collector {
 public:
  explicit SnapshotCollector(std::shared_ptr<const Source> source) : source_(std::move(source)) {}
  void collect(collectors::ScrapeContext& ctx) override { source_->write(ctx.out); }
  bool never_waits() const override { return true; }

 private:
  std::shared_ptr<const Source> source_;
};

}  // namespace

std::unique_ptr<collectors::Collector> make_store_collector(std::shared_ptr<const Store> store) {
  return std::make_unique<SnapshotCollector<Store>>(std::move(store));
}

std::unique_ptr<collectors::Collector> make_probe_collector(std::shared_ptr<const Probe> probe) {
  return std::make_unique<SnapshotCollector<Probe>>(std::move(probe));
}

}  // namespace afp::pipeline
