// diskstats: node_disk_*{device} from /proc/diskstats, node_exporter 1.5.0 names and help.
#include <array>
#include <string>
#include <vector>

#include "collectors/name_filter.h"
#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

// Sectors in /proc/diskstats are always 512-byte units, whatever the device's block size.
constexpr double kSectorBytes = 512.0;
constexpr double kMsPerSecond = 1000.0;

struct Stat {
  std::string_view name;
  std::string_view help;
  metrics::MetricType type;
  double divisor;  // value = raw * multiplier / divisor
  double multiplier;
};

constexpr auto kCounter = metrics::MetricType::Counter;
// In /proc/diskstats order after major, minor and device name. 11 stats on every kernel,
// 4 discard stats since 4.18, 2 flush stats since 5.5.
constexpr std::array<Stat, 17> kStats{{
    {"node_disk_reads_completed_total", "The total number of reads completed successfully.",
     kCounter, 1, 1},
    {"node_disk_reads_merged_total", "The total number of reads merged.", kCounter, 1, 1},
    {"node_disk_read_bytes_total", "The total number of bytes read successfully.", kCounter, 1,
     kSectorBytes},
    {"node_disk_read_time_seconds_total", "The total number of seconds spent by all reads.",
     kCounter, kMsPerSecond, 1},
    {"node_disk_writes_completed_total", "The total number of writes completed successfully.",
     kCounter, 1, 1},
    {"node_disk_writes_merged_total", "The number of writes merged.", kCounter, 1, 1},
    {"node_disk_written_bytes_total", "The total number of bytes written successfully.", kCounter,
     1, kSectorBytes},
    {"node_disk_write_time_seconds_total",
     "This is the total number of seconds spent by all writes.", kCounter, kMsPerSecond, 1},
    {"node_disk_io_now", "The number of I/Os currently in progress.", metrics::MetricType::Gauge, 1,
     1},
    {"node_disk_io_time_seconds_total", "Total seconds spent doing I/Os.", kCounter, kMsPerSecond,
     1},
    {"node_disk_io_time_weighted_seconds_total", "The weighted # of seconds spent doing I/Os.",
     kCounter, kMsPerSecond, 1},
    {"node_disk_discards_completed_total", "The total number of discards completed successfully.",
     kCounter, 1, 1},
    {"node_disk_discards_merged_total", "The total number of discards merged.", kCounter, 1, 1},
    {"node_disk_discarded_sectors_total", "The total number of sectors discarded successfully.",
     kCounter, 1, 1},
    {"node_disk_discard_time_seconds_total",
     "This is the total number of seconds spent by all discards.", kCounter, kMsPerSecond, 1},
    {"node_disk_flush_requests_total", "The total number of flush requests completed successfully",
     kCounter, 1, 1},
    {"node_disk_flush_requests_time_seconds_total",
     "This is the total number of seconds spent by all flush requests.", kCounter, kMsPerSecond, 1},
}};

struct Disk {
  std::string_view device;  // points into the file text
  std::array<std::uint64_t, kStats.size()> values{};
  std::size_t count = 0;  // 11, 15 or 17
};

class DiskstatsCollector final : public Collector {
 public:
  explicit DiskstatsCollector(const CollectorSettings& settings)
      : file_(join_path(settings.procfs, "diskstats"), ProcFile::Kind::iterated),
        filter_("", settings.disk_device_exclude) {}

  void collect(ScrapeContext& ctx) override {
    std::string text;
    file_.read(text);
    auto disks = parse(text, ctx.malformed_lines);
    auto& out = ctx.out;
    for (std::size_t s = 0; s < kStats.size(); ++s) {
      const Stat& stat = kStats[s];
      bool any = false;
      for (const auto& d : disks) {
        if (s >= d.count) continue;
        if (!any) out.family(stat.name, stat.help, stat.type);
        any = true;
        double v = static_cast<double>(d.values[s]);
        if (stat.multiplier != 1) v *= stat.multiplier;
        if (stat.divisor != 1) v /= stat.divisor;
        out.sample({{"device", d.device}}, v);
      }
    }
  }

 private:
  // A line is "major minor name" and then 11, 15 or 17 counters; anything else is skipped
  // and counted, whether or not the device would have been filtered out.
  std::vector<Disk> parse(std::string_view text, std::uint64_t& malformed) {
    std::vector<Disk> disks;
    std::vector<std::string_view> fields;
    for_each_line(text, [&](std::string_view line) {
      split_fields(line, fields);
      if (fields.empty()) return;
      std::size_t n = fields.size();
      bool ok = (n == 14 || n == 18 || n == 20) && parse_u64(fields[0]) && parse_u64(fields[1]);
      Disk d;
      d.device = ok ? fields[2] : std::string_view();
      d.count = ok ? n - 3 : 0;
      for (std::size_t i = 0; ok && i < d.count; ++i) {
        auto v = parse_u64(fields[i + 3]);
        ok = v.has_value();
        if (ok) d.values[i] = *v;
      }
      if (!ok) {
        ++malformed;
        return;
      }
      if (filter_.accepts(d.device)) disks.push_back(d);
    });
    return disks;
  }

  ProcFile file_;
  NameFilter filter_;
};

}  // namespace

std::unique_ptr<Collector> make_diskstats_collector(const CollectorSettings& settings) {
  return std::make_unique<DiskstatsCollector>(settings);
}

}  // namespace afp::collectors
