#pragma once

#include <cstdint>
#include <memory>

#include "collectors/collector.h"
#include "collectors/settings.h"

namespace afp::collectors {

// make_process_collector (collectors/system_collectors.h) with the page size given instead of taken
// from sysconf(_SC_PAGESIZE), so that golden tests do not depend on the machine.
std::unique_ptr<Collector> make_process_collector(const CollectorSettings& settings,
                                                  std::uint64_t page_size);

}  // namespace afp::collectors
