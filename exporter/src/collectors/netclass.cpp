// netclass: the cheap part of node_exporter's netclass collector, from the attribute files
// of each device in /sys/class/net: node_network_info{address,broadcast,device,duplex,
// ifalias,operstate}, node_network_up, and the numeric attributes node-mixin and the
// "Node Exporter Full" dashboard chart (carrier, mtu, speed, transmit queue length...).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <optional>
#include <string>
#include <vector>

#include "collectors/catalog.h"
#include "collectors/name_filter.h"
#include "collectors/proc_file.h"
#include "core/ascii.h"
#include "core/utf8.h"

namespace afp::collectors {

namespace {

// The text attributes node_network_info carries, in label order (device goes between).
constexpr std::array<std::string_view, 5> kTextAttributes{"address", "broadcast", "duplex",
                                                          "ifalias", "operstate"};

struct NumericAttribute {
  std::string_view file;
  std::string_view name;
  std::string_view help;
  metrics::MetricType type;
  double scale;  // speed is in Mbit/s, exported in bytes/s
};

constexpr std::array<NumericAttribute, 7> kNumericAttributes{{
    {"carrier", "node_network_carrier", "Network device property: carrier",
     metrics::MetricType::Gauge, 1},
    {"carrier_changes", "node_network_carrier_changes_total",
     "Network device property: carrier_changes_total", metrics::MetricType::Counter, 1},
    {"ifindex", "node_network_iface_id", "Network device property: iface_id",
     metrics::MetricType::Gauge, 1},
    {"mtu", "node_network_mtu_bytes", "Network device property: mtu_bytes",
     metrics::MetricType::Gauge, 1},
    {"type", "node_network_protocol_type", "Network device property: protocol_type",
     metrics::MetricType::Gauge, 1},
    {"speed", "node_network_speed_bytes", "Network device property: speed_bytes",
     metrics::MetricType::Gauge, 1000.0 * 1000.0 / 8.0},
    {"tx_queue_len", "node_network_transmit_queue_length",
     "Network device property: transmit_queue_length", metrics::MetricType::Gauge, 1},
}};

struct Device {
  std::string name;
  std::array<std::string, kTextAttributes.size()> text;
  std::array<std::optional<double>, kNumericAttributes.size()> numbers;
};

std::optional<std::int64_t> parse_i64(std::string_view text) {
  std::int64_t value = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || res.ec != std::errc() || res.ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// One attribute file, without surrounding white space (as node_exporter reads it). Files are opened
// on every scrape, not kept open: a host with hundreds of veth devices would otherwise hold
// thousands of fds, and devices come and go. A down device answers EINVAL for carrier, speed and
// duplex, which node_exporter treats as absent too.
bool read_attribute(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int err = pread_all(fd, out, true);
  ::close(fd);
  if (err != 0) return false;
  auto trimmed = core::trim_space(out);
  out.assign(trimmed.data(), trimmed.size());
  return true;
}

class NetclassCollector final : public Collector {
 public:
  explicit NetclassCollector(const CollectorSettings& settings)
      : dir_(join_path(settings.sysfs, "class/net")),
        filter_(settings.netdev_device_include, settings.netdev_device_exclude) {}

  void collect(ScrapeContext& ctx) override {
    std::vector<Device> devices;
    for (auto& name : device_names())
      devices.push_back(read_device(std::move(name), ctx.malformed_lines));
    write_up(ctx.out, devices);
    write_info(ctx.out, devices);
    for (std::size_t a = 0; a < kNumericAttributes.size(); ++a)
      write_numeric(ctx.out, devices, a);
  }

 private:
  // Sorted, so the output does not follow directory order.
  std::vector<std::string> device_names() {
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) throw CollectError("cannot read " + dir_);
    std::vector<std::string> names;
    while (const dirent* e = ::readdir(d)) {
      std::string_view name = e->d_name;
      if (name == "." || name == "..") continue;
      if (core::valid_utf8(name) && filter_.accepts(name)) names.emplace_back(name);
    }
    ::closedir(d);
    std::sort(names.begin(), names.end());
    return names;
  }

  Device read_device(std::string name, std::uint64_t& malformed) {
    Device d;
    d.name = std::move(name);
    std::string path;
    std::string value;
    auto read = [&](std::string_view file) {
      path.assign(dir_).append("/").append(d.name).append("/").append(file);
      return read_attribute(path, value);
    };
    for (std::size_t a = 0; a < kTextAttributes.size(); ++a) {
      if (!read(kTextAttributes[a])) continue;
      if (core::valid_utf8(value)) {
        d.text[a] = value;
      } else {
        ++malformed;
      }
    }
    for (std::size_t a = 0; a < kNumericAttributes.size(); ++a) {
      if (!read(kNumericAttributes[a].file)) continue;
      auto v = parse_i64(value);
      if (!v) {
        ++malformed;
        continue;
      }
      d.numbers[a] = static_cast<double>(*v) * kNumericAttributes[a].scale;
    }
    return d;
  }

  static void write_up(metrics::TextWriter& out, const std::vector<Device>& devices) {
    if (devices.empty()) return;
    out.family("node_network_up", "Value is 1 if operstate is 'up', 0 otherwise.",
               metrics::MetricType::Gauge);
    for (const auto& d : devices)
      out.sample({{"device", d.name}}, d.text[4] == "up" ? 1 : 0);
  }

  static void write_info(metrics::TextWriter& out, const std::vector<Device>& devices) {
    if (devices.empty()) return;
    out.family("node_network_info",
               "Non-numeric data from /sys/class/net/<iface>, value is always 1.",
               metrics::MetricType::Gauge);
    for (const auto& d : devices) {
      out.sample({{"address", d.text[0]},
                  {"broadcast", d.text[1]},
                  {"device", d.name},
                  {"duplex", d.text[2]},
                  {"ifalias", d.text[3]},
                  {"operstate", d.text[4]}},
                 1);
    }
  }

  static void write_numeric(metrics::TextWriter& out, const std::vector<Device>& devices,
                            std::size_t a) {
    const auto& attr = kNumericAttributes[a];
    bool any = false;
    for (const auto& d : devices) {
      if (!d.numbers[a]) continue;
      if (!any) out.family(attr.name, attr.help, attr.type);
      any = true;
      out.sample({{"device", d.name}}, *d.numbers[a]);
    }
  }

  std::string dir_;
  NameFilter filter_;
};

}  // namespace

std::unique_ptr<Collector> make_netclass_collector(const CollectorSettings& settings) {
  return std::make_unique<NetclassCollector>(settings);
}

}  // namespace afp::collectors
