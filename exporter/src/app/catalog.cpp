#include "app/catalog.h"

#include <array>
#include <vector>

#include "collectors/filesystem.h"
#include "collectors/system_collectors.h"
#include "pg/collectors.h"
#include "pg/query.h"
#include "pipeline/collectors.h"

namespace afp::collectors {

namespace {
template <std::unique_ptr<Collector> (*Make)(const CollectorSettings&)>
std::unique_ptr<Collector> system(const CollectorDeps& deps) {
  return Make(deps.settings);
}

std::unique_ptr<Collector> filesystem(const CollectorDeps& deps) {
  auto pool = deps.statfs_pool ? deps.statfs_pool : std::make_shared<StatfsPool>();
  return make_filesystem_collector(deps.settings, std::move(pool));
}

// Registers the collector's query with the shared source, which runs every PostgreSQL
// query of a scrape in one go, and returns the collector that hands out its result.
template <std::unique_ptr<pg::PgQuery> (*Query)()>
std::unique_ptr<Collector> postgres(const CollectorDeps& deps, std::string name) {
  deps.postgres->add(name, Query());
  return pg::make_collector(deps.postgres, std::move(name));
}

constexpr std::array kBuiltin{
    CollectorSpec{"cpu", "Seconds the CPUs spent in each mode (/proc/stat).", true, Needs::nothing,
                  system<make_cpu_collector>},
    CollectorSpec{"loadavg", "Load averages (/proc/loadavg).", true, Needs::nothing,
                  system<make_loadavg_collector>},
    CollectorSpec{"meminfo", "Memory statistics (/proc/meminfo).", true, Needs::nothing,
                  system<make_meminfo_collector>},
    CollectorSpec{"filesystem", "Filesystem space and inodes (statfs of each mount).", true,
                  Needs::nothing, filesystem},
    CollectorSpec{"diskstats", "Disk I/O statistics (/proc/diskstats).", true, Needs::nothing,
                  system<make_diskstats_collector>},
    CollectorSpec{"netdev", "Network device statistics (/proc/net/dev).", true, Needs::nothing,
                  system<make_netdev_collector>},
    CollectorSpec{"netclass",
                  "Network device attributes: node_network_info, up, carrier, MTU, speed "
                  "(/sys/class/net).",
                  true, Needs::nothing, system<make_netclass_collector>},
    CollectorSpec{"stat",
                  "Boot time, context switches, interrupts, forks, running and blocked "
                  "processes (/proc/stat).",
                  true, Needs::nothing, system<make_stat_collector>},
    CollectorSpec{"vmstat", "Paging, swapping and OOM-kill counters (/proc/vmstat).", true,
                  Needs::nothing, system<make_vmstat_collector>},
    CollectorSpec{"filefd", "Allocated and maximum file handles (/proc/sys/fs/file-nr).", true,
                  Needs::nothing, system<make_filefd_collector>},
    CollectorSpec{"time", "The system clock and time zone offset.", true, Needs::nothing,
                  system<make_time_collector>},
    CollectorSpec{"uname", "node_uname_info: uname(2) as labels.", true, Needs::nothing,
                  system<make_uname_collector>},
    CollectorSpec{"os", "node_os_info and node_os_version (etc/os-release under --path.rootfs).",
                  true, Needs::nothing, system<make_os_collector>},
    CollectorSpec{"process", "The exporter's own process_* metrics.", true, Needs::nothing,
                  system<make_process_collector>},
    CollectorSpec{"postgres", "pg_up: whether PostgreSQL answers; when it started (needs a DSN).",
                  true, Needs::postgres,
                  [](const CollectorDeps& d) { return pg::make_up_collector(d.postgres); }},
    CollectorSpec{"pg_stat_database",
                  "Per-database cache hits, commits, rollbacks, deadlocks (needs a DSN).", true,
                  Needs::postgres,
                  [](const CollectorDeps& d) {
                    return postgres<pg::make_stat_database_query>(d, "pg_stat_database");
                  }},
    CollectorSpec{"pg_stat_user_tables",
                  "Per-table scans, live and dead rows, analyze and vacuum times, sizes (needs "
                  "a DSN).",
                  true, Needs::postgres,
                  [](const CollectorDeps& d) {
                    d.postgres->add("pg_stat_user_tables",
                                    pg::make_stat_user_tables_query(d.pg_settings.relations_limit));
                    return pg::make_collector(d.postgres, "pg_stat_user_tables");
                  }},
    CollectorSpec{
        "pg_stat_user_indexes", "Per-index scans, tuples read and fetched, sizes (needs a DSN).",
        true, Needs::postgres,
        [](const CollectorDeps& d) {
          d.postgres->add("pg_stat_user_indexes",
                          pg::make_stat_user_indexes_query(d.pg_settings.relations_limit));
          return pg::make_collector(d.postgres, "pg_stat_user_indexes");
        }},
    CollectorSpec{"pg_stat_statements",
                  "Per-statement calls, execution time, rows and block I/O time, statements "
                  "differing only in IN/VALUES list length merged (needs a DSN and the "
                  "pg_stat_statements extension).",
                  true, Needs::postgres,
                  [](const CollectorDeps& d) {
                    d.postgres->add("pg_stat_statements",
                                    pg::make_stat_statements_query(d.pg_settings.statements));
                    return pg::make_collector(d.postgres, "pg_stat_statements");
                  }},
    CollectorSpec{
        "pipeline",
        "Fingerprint-pipeline histograms and counters the app pushes over HTTP or "
        "statsd, and the ingest counters.",
        true, Needs::pipeline,
        [](const CollectorDeps& d) { return pipeline::make_store_collector(d.pipeline); }},
    CollectorSpec{"probe",
                  "Result of the last active probe of the app's identify endpoint (needs "
                  "--probe.url).",
                  true, Needs::probe,
                  [](const CollectorDeps& d) { return pipeline::make_probe_collector(d.probe); }},
};

constexpr std::array kAliases{
    CollectorAlias{"stat_database", "pg_stat_database"},
    CollectorAlias{"stat_user_tables", "pg_stat_user_tables"},
    CollectorAlias{"stat_statements", "pg_stat_statements"},
};
}  // namespace

std::span<const CollectorSpec> builtin_collectors() {
  return kBuiltin;
}

std::span<const CollectorAlias> collector_aliases() {
  return kAliases;
}

const CollectorSpec* find_collector(std::string_view name) {
  for (const auto& spec : kBuiltin) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

config::CollectorList collector_flags() {
  static const std::vector<config::CollectorFlag> flags = [] {
    std::vector<config::CollectorFlag> out;
    for (const auto& spec : kBuiltin) {
      config::CollectorFlag flag{spec.name, spec.help, spec.enabled_by_default, {}};
      for (const auto& a : kAliases) {
        if (a.name == spec.name) flag.aliases.push_back(a.alias);
      }
      out.push_back(std::move(flag));
    }
    return out;
  }();
  return flags;
}

bool available(const CollectorSpec& spec, const CollectorDeps& deps) {
  switch (spec.needs) {
    case Needs::postgres:
      return deps.postgres != nullptr;
    case Needs::pipeline:
      return deps.pipeline != nullptr;
    case Needs::probe:
      return deps.probe != nullptr;
    case Needs::nothing:
      break;
  }
  return true;
}

}  // namespace afp::collectors
