// Placeholder until the meminfo collector lands; delete this file when adding meminfo.cpp.
#include "collectors/catalog.h"

namespace afp::collectors {
std::unique_ptr<Collector> make_meminfo_collector(const CollectorSettings&) {
  throw CollectError("meminfo collector not built yet");
}
}  // namespace afp::collectors
