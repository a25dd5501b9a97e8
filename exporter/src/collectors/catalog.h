#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "collectors/collector.h"
#include "collectors/settings.h"

namespace afp::pg {
class Source;
}

namespace afp::collectors {

// What a collector may be built from.
struct CollectorDeps {
  const CollectorSettings& settings;
  // The shared PostgreSQL connection; null when no DSN is configured.
  std::shared_ptr<pg::Source> postgres;
};

struct CollectorSpec {
  std::string_view name;
  std::string_view help;
  bool enabled_by_default;
  // PostgreSQL collectors run only when a DSN is configured, whatever their flag says.
  bool needs_postgres;
  std::unique_ptr<Collector> (*make)(const CollectorDeps&);
};

// The built-in collectors in scrape order; each gets --collector.NAME / --no-collector.NAME.
std::span<const CollectorSpec> builtin_collectors();
const CollectorSpec* find_collector(std::string_view name);

// One factory per collector file.
std::unique_ptr<Collector> make_cpu_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_loadavg_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_meminfo_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_filesystem_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_diskstats_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_netdev_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_process_collector(const CollectorSettings& settings);

}  // namespace afp::collectors
