// netclass: the cheap part of node_exporter's netclass collector, from the attribute files
// of each device in /sys/class/net: node_network_info{address,broadcast,device,duplex,
// ifalias,operstate}, node_network_up, and the numeric attributes node-mixin and the
// "Node Exporter Full" dashboard chart (carrier, mtu, speed, transmit queue length...).
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "collectors/name_filter.h"
#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"
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

constexpr std::size_t kFiles = kTextAttributes.size() + kNumericAttributes.size();
// Devices whose files stay open: 12 fds each, so at most 192 of the process's descriptors,
// leaving the rest of a 1024 soft limit to the HTTP server's 512 connections. Beyond this
// (hosts with hundreds of veth devices) the files of the others are opened on every scrape.
constexpr std::size_t kMaxOpenDevices = 16;

std::string_view file_name(std::size_t i) {
  return i < kTextAttributes.size() ? kTextAttributes[i]
                                    : kNumericAttributes[i - kTextAttributes.size()].file;
}

// The attribute files of one device, opened once: opening a sysfs file costs ten times
// reading it again (12 files of 4 devices: 540 us against 36 us). They close when the
// device leaves /sys/class/net, or when a read says it is a removed device's (ENODEV).
class DeviceFiles {
 public:
  // Null when `name` is not a directory (e.g. bonding_masters) or has vanished.
  static std::shared_ptr<const DeviceFiles> open(const std::string& dir, const std::string& name) {
    int dfd = ::open((dir + "/" + name).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return nullptr;
    auto files = std::make_shared<DeviceFiles>();
    for (std::size_t i = 0; i < kFiles; ++i) {
      files->fds_[i] = ::openat(dfd, std::string(file_name(i)).c_str(), O_RDONLY | O_CLOEXEC);
    }
    ::close(dfd);
    return files;
  }

  DeviceFiles() { fds_.fill(-1); }
  DeviceFiles(const DeviceFiles&) = delete;
  DeviceFiles& operator=(const DeviceFiles&) = delete;
  ~DeviceFiles() {
    for (int fd : fds_) {
      if (fd >= 0) ::close(fd);
    }
  }

  // File i without surrounding white space (as node_exporter reads it), or the errno that
  // made it unreadable: ENOENT for a file the device lacks, EINVAL for carrier, speed and
  // duplex of a device that is down (node_exporter leaves those out too). A sysfs
  // attribute is generated in one piece.
  int read(std::size_t i, std::string& out) const {
    if (fds_[i] < 0) return ENOENT;
    if (int err = pread_all(fds_[i], out, /*single_shot=*/true)) return err;
    auto text = core::trim_space(out);
    auto start = static_cast<std::size_t>(text.data() - out.data());
    out.erase(start + text.size()).erase(0, start);
    return 0;
  }

 private:
  std::array<int, kFiles> fds_;
};

struct OpenDevice {
  std::string name;
  std::shared_ptr<const DeviceFiles> files;
};

class NetclassCollector final : public Collector {
 public:
  explicit NetclassCollector(const CollectorSettings& settings)
      : dir_(join_path(settings.sysfs, "class/net")),
        filter_(settings.netdev_device_include, settings.netdev_device_exclude) {}

  void collect(ScrapeContext& ctx) override {
    std::vector<Device> devices;
    for (auto& open : open_devices()) {
      bool stale = false;
      devices.push_back(read_device(open, ctx.malformed_lines, stale));
      if (stale) forget(open);
    }
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

  // The files of every device listed now; those of devices gone since the last scrape
  // are closed. Concurrent scrapes share the open files.
  std::vector<OpenDevice> open_devices() {
    auto names = device_names();
    std::vector<OpenDevice> out;
    std::lock_guard lock(mutex_);
    std::map<std::string, std::shared_ptr<const DeviceFiles>, std::less<>> kept;
    for (auto& name : names) {
      auto it = open_.find(name);
      auto files = it != open_.end() ? it->second : DeviceFiles::open(dir_, name);
      if (!files) continue;
      if (kept.size() < kMaxOpenDevices) kept.emplace(name, files);
      out.push_back({std::move(name), std::move(files)});
    }
    open_.swap(kept);
    return out;
  }

  void forget(const OpenDevice& device) {
    std::lock_guard lock(mutex_);
    auto it = open_.find(device.name);
    if (it != open_.end() && it->second == device.files) open_.erase(it);
  }

  // stale: a file answered ENODEV, the device was removed (and maybe re-created under
  // the same name), so its files are reopened next scrape.
  static Device read_device(const OpenDevice& open, std::uint64_t& malformed, bool& stale) {
    Device d;
    d.name = open.name;
    std::string value;
    auto read = [&](std::size_t i) {
      int err = open.files->read(i, value);
      stale = stale || err == ENODEV;
      return err == 0;
    };
    for (std::size_t a = 0; a < kTextAttributes.size(); ++a) {
      if (!read(a)) continue;
      if (core::valid_utf8(value)) {
        d.text[a] = value;
      } else {
        ++malformed;
      }
    }
    for (std::size_t a = 0; a < kNumericAttributes.size(); ++a) {
      if (!read(kTextAttributes.size() + a)) continue;
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
  std::mutex mutex_;  // guards open_
  std::map<std::string, std::shared_ptr<const DeviceFiles>, std::less<>> open_;
};

}  // namespace

std::unique_ptr<Collector> make_netclass_collector(const CollectorSettings& settings) {
  return std::make_unique<NetclassCollector>(settings);
}

}  // namespace afp::collectors
