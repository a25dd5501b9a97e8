#pragma once

// The catalog: every collector, in scrape order. It lives in the composition root because it
// names the factories of three layers (collectors, pg, pipeline); it keeps the collectors'
// namespace, as it is their one list.

#include <memory>
#include <span>
#include <string_view>

#include "collectors/collector.h"
#include "collectors/settings.h"
#include "config/options.h"
#include "pg/settings.h"

namespace afp::pg {
class Source;
}
namespace afp::pipeline {
class Store;
class Probe;
}  // namespace afp::pipeline

namespace afp::collectors {

class StatfsPool;

// What a collector may be built from.
struct CollectorDeps {
  const CollectorSettings& settings;
  // The shared PostgreSQL connection; null when no DSN is configured.
  std::shared_ptr<pg::Source> postgres;
  // What the app pushed (ingest, statsd); lives as long as the process, across reloads.
  std::shared_ptr<pipeline::Store> pipeline = nullptr;
  // The active probe; null when --probe.url is not set.
  std::shared_ptr<pipeline::Probe> probe = nullptr;
  // The filesystem collector's statfs threads; null: a pool of its own. The app keeps one
  // across reloads.
  std::shared_ptr<StatfsPool> statfs_pool = nullptr;
  // The PostgreSQL collectors' settings.
  pg::CollectorSettings pg_settings = {};
};

// What a collector cannot run without; it is left out (whatever its flag says) when the
// exporter is not configured for it.
enum class Needs { nothing, postgres, pipeline, probe };

struct CollectorSpec {
  std::string_view name;
  std::string_view help;
  bool enabled_by_default;
  Needs needs;
  std::unique_ptr<Collector> (*make)(const CollectorDeps&);
};

// The built-in collectors in scrape order; each gets --collector.NAME / --no-collector.NAME.
std::span<const CollectorSpec> builtin_collectors();
const CollectorSpec* find_collector(std::string_view name);
// postgres_exporter's collector names (its --collector.NAME flags, from 0.12 on) for the
// collectors of ours that export the same view: --collector.stat_database is
// --collector.pg_stat_database. Each alias names exactly one of ours.
struct CollectorAlias {
  std::string_view alias;
  std::string_view name;
};
std::span<const CollectorAlias> collector_aliases();
// Whether deps hold what the spec needs.
bool available(const CollectorSpec& spec, const CollectorDeps& deps);

// The catalog as the flags see it (--collector.NAME, its help, its default, its aliases),
// handed to config::parse_command_line: config knows no collector.
config::CollectorList collector_flags();

}  // namespace afp::collectors
