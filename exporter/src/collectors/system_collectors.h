#pragma once

// The system collectors' factories, one per collector file. The catalog (app/catalog.h)
// lists them with the PostgreSQL and pipeline collectors.

#include <memory>

#include "collectors/collector.h"
#include "collectors/settings.h"

namespace afp::collectors {

std::unique_ptr<Collector> make_cpu_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_loadavg_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_meminfo_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_diskstats_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_netdev_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_netclass_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_stat_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_vmstat_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_filefd_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_time_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_uname_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_os_collector(const CollectorSettings& settings);
std::unique_ptr<Collector> make_process_collector(const CollectorSettings& settings);

}  // namespace afp::collectors
