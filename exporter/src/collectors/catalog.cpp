#include "collectors/catalog.h"

#include <array>

namespace afp::collectors {

namespace {
constexpr std::array kBuiltin{
    CollectorSpec{"cpu", "Seconds the CPUs spent in each mode (/proc/stat).", true,
                  make_cpu_collector},
    CollectorSpec{"loadavg", "Load averages (/proc/loadavg).", true, make_loadavg_collector},
    CollectorSpec{"meminfo", "Memory statistics (/proc/meminfo).", true, make_meminfo_collector},
    CollectorSpec{"filesystem", "Filesystem space and inodes (statfs of each mount).", true,
                  make_filesystem_collector},
    CollectorSpec{"diskstats", "Disk I/O statistics (/proc/diskstats).", true,
                  make_diskstats_collector},
    CollectorSpec{"netdev", "Network device statistics (/proc/net/dev).", true,
                  make_netdev_collector},
    CollectorSpec{"process", "The exporter's own process_* metrics.", true, make_process_collector},
};
}  // namespace

std::span<const CollectorSpec> builtin_collectors() {
  return kBuiltin;
}

const CollectorSpec* find_collector(std::string_view name) {
  for (const auto& spec : kBuiltin) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

}  // namespace afp::collectors
