// Placeholder until the diskstats collector lands; delete this file when adding diskstats.cpp.
#include "collectors/catalog.h"

namespace afp::collectors {
std::unique_ptr<Collector> make_diskstats_collector(const CollectorSettings&) {
  throw CollectError("diskstats collector not built yet");
}
}  // namespace afp::collectors
