// Placeholder until the process collector lands; delete this file when adding process.cpp.
#include "collectors/catalog.h"

namespace afp::collectors {
std::unique_ptr<Collector> make_process_collector(const CollectorSettings&) {
  throw CollectError("process collector not built yet");
}
}  // namespace afp::collectors
