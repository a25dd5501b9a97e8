// netdev: node_network_{receive,transmit}_*_total{device} from /proc/net/dev (node_exporter
// 1.5.0 names). node_network_up comes from the netclass collector, as in node_exporter.
#include <array>
#include <string>
#include <vector>

#include "collectors/name_filter.h"
#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"
#include "core/ascii.h"

namespace afp::collectors {

namespace {

struct Stat {
  std::string_view name;
  std::string_view help;
};

// In /proc/net/dev column order, with node_exporter's legacy names (errs, drop, colls).
constexpr std::array<Stat, 16> kStats{{
    {"node_network_receive_bytes_total", "Network device statistic receive_bytes."},
    {"node_network_receive_packets_total", "Network device statistic receive_packets."},
    {"node_network_receive_errs_total", "Network device statistic receive_errs."},
    {"node_network_receive_drop_total", "Network device statistic receive_drop."},
    {"node_network_receive_fifo_total", "Network device statistic receive_fifo."},
    {"node_network_receive_frame_total", "Network device statistic receive_frame."},
    {"node_network_receive_compressed_total", "Network device statistic receive_compressed."},
    {"node_network_receive_multicast_total", "Network device statistic receive_multicast."},
    {"node_network_transmit_bytes_total", "Network device statistic transmit_bytes."},
    {"node_network_transmit_packets_total", "Network device statistic transmit_packets."},
    {"node_network_transmit_errs_total", "Network device statistic transmit_errs."},
    {"node_network_transmit_drop_total", "Network device statistic transmit_drop."},
    {"node_network_transmit_fifo_total", "Network device statistic transmit_fifo."},
    {"node_network_transmit_colls_total", "Network device statistic transmit_colls."},
    {"node_network_transmit_carrier_total", "Network device statistic transmit_carrier."},
    {"node_network_transmit_compressed_total", "Network device statistic transmit_compressed."},
}};

struct Device {
  std::string_view name;  // points into the file text
  std::array<std::uint64_t, kStats.size()> values{};
};

class NetdevCollector final : public Collector {
 public:
  explicit NetdevCollector(const CollectorSettings& settings)
      : file_(join_path(settings.procfs, "net/dev"), ProcFile::Kind::iterated),
        filter_(settings.netdev_device_include, settings.netdev_device_exclude) {}

  void collect(ScrapeContext& ctx) override {
    std::string text;
    file_.read(text);
    auto devices = parse(text, ctx.malformed_lines);
    auto& out = ctx.out;
    for (std::size_t s = 0; s < kStats.size() && !devices.empty(); ++s) {
      out.family(kStats[s].name, kStats[s].help, metrics::MetricType::Counter);
      for (const auto& d : devices) {
        out.sample({{"device", d.name}}, static_cast<double>(d.values[s]));
      }
    }
  }

 private:
  // Data lines are "name: 16 counters"; the two header lines contain '|'. The name ends at
  // the last colon, and old kernels write no space after it.
  std::vector<Device> parse(std::string_view text, std::uint64_t& malformed) {
    std::vector<Device> devices;
    std::vector<std::string_view> fields;
    for_each_line(text, [&](std::string_view line) {
      if (line.find('|') != std::string_view::npos) return;
      if (core::trim_space(line).empty()) return;
      auto colon = line.rfind(':');
      Device d;
      bool ok = colon != std::string_view::npos;
      if (ok) {
        d.name = core::trim_space(line.substr(0, colon));
        split_fields(line.substr(colon + 1), fields);
        ok = !d.name.empty() && fields.size() == kStats.size();
      }
      for (std::size_t i = 0; ok && i < kStats.size(); ++i) {
        auto v = parse_u64(fields[i]);
        ok = v.has_value();
        if (ok) d.values[i] = *v;
      }
      if (!ok) {
        ++malformed;
        return;
      }
      if (filter_.accepts(d.name)) devices.push_back(d);
    });
    return devices;
  }

  ProcFile file_;
  NameFilter filter_;
};

}  // namespace

std::unique_ptr<Collector> make_netdev_collector(const CollectorSettings& settings) {
  return std::make_unique<NetdevCollector>(settings);
}

}  // namespace afp::collectors
