// Placeholder until the filesystem collector lands; delete this file when adding filesystem.cpp.
#include "collectors/catalog.h"

namespace afp::collectors {
std::unique_ptr<Collector> make_filesystem_collector(const CollectorSettings&) {
  throw CollectError("filesystem collector not built yet");
}
}  // namespace afp::collectors
