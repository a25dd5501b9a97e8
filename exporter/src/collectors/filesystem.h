#pragma once

#include <memory>

#include "collectors/collector.h"
#include "collectors/settings.h"
#include "collectors/statfs_pool.h"

namespace afp::collectors {

// The filesystem collector with its stat call replaced (tests inject fakes that fail or
// hang), on a pool of its own.
std::unique_ptr<Collector> make_filesystem_collector(const CollectorSettings& settings,
                                                     StatFn stat);

// The real collector on `pool`, which outlives it: the app keeps one pool across reloads,
// so threads stuck on a dead mount are not left behind by every SIGHUP.
std::unique_ptr<Collector> make_filesystem_collector(const CollectorSettings& settings,
                                                     std::shared_ptr<StatfsPool> pool);

}  // namespace afp::collectors
