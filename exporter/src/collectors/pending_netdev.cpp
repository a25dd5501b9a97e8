// Placeholder until the netdev collector lands; delete this file when adding netdev.cpp.
#include "collectors/catalog.h"

namespace afp::collectors {
std::unique_ptr<Collector> make_netdev_collector(const CollectorSettings&) {
  throw CollectError("netdev collector not built yet");
}
}  // namespace afp::collectors
