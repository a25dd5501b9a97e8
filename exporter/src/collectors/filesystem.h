#pragma once

#include <memory>

#include "collectors/collector.h"
#include "collectors/settings.h"
#include "collectors/statfs_pool.h"

namespace afp::collectors {

// The filesystem collector with its stat call replaced (tests inject fakes that fail or
// hang). make_filesystem_collector(settings) in catalog.h uses real_statfs.
std::unique_ptr<Collector> make_filesystem_collector(const CollectorSettings& settings,
                                                     StatFn stat);

}  // namespace afp::collectors
