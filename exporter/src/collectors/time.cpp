// time: node_time_seconds and node_time_zone_offset_seconds{time_zone}, as node_exporter's
// time collector; its clocksource info series are not exported (docs/compatibility.md).
#include <time.h>

#include <cerrno>
#include <cstring>

#include "collectors/host_sources.h"
#include "collectors/system_collectors.h"
#include "core/utf8.h"

namespace afp::collectors {

namespace {

class TimeCollector final : public Collector {
 public:
  explicit TimeCollector(std::function<ClockReading()> source) : source_(std::move(source)) {}

  void collect(ScrapeContext& ctx) override {
    auto now = source_();
    ctx.out.family("node_time_seconds", "System time in seconds since epoch (1970).",
                   metrics::MetricType::Gauge);
    ctx.out.sample({}, now.seconds_since_epoch);
    if (!core::valid_utf8(now.zone)) return;  // TZ comes from the environment: anything
    ctx.out.family("node_time_zone_offset_seconds", "System time zone offset in seconds.",
                   metrics::MetricType::Gauge);
    ctx.out.sample({{"time_zone", now.zone}}, now.zone_offset_seconds);
  }

 private:
  std::function<ClockReading()> source_;
};

}  // namespace

ClockReading system_clock_reading() {
  timespec ts{};
  if (::clock_gettime(CLOCK_REALTIME, &ts) != 0) {
    throw CollectError(std::string("clock_gettime: ") + std::strerror(errno));
  }
  ClockReading r;
  r.seconds_since_epoch = static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  tm local{};
  if (::localtime_r(&ts.tv_sec, &local) != nullptr) {
    r.zone = local.tm_zone != nullptr ? local.tm_zone : "";
    r.zone_offset_seconds = static_cast<double>(local.tm_gmtoff);
  }
  return r;
}

std::unique_ptr<Collector> make_time_collector(std::function<ClockReading()> source) {
  return std::make_unique<TimeCollector>(std::move(source));
}

std::unique_ptr<Collector> make_time_collector(const CollectorSettings&) {
  return make_time_collector(system_clock_reading);
}

}  // namespace afp::collectors
