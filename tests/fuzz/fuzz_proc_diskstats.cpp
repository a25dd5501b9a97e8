// /proc/diskstats, read by the diskstats collector (device filter regex included).
#include <cstddef>
#include <cstdint>

#include "collectors/system_collectors.h"
#include "harness_support.h"
#include "proc_tree.h"

using namespace afp;
using fuzz::ProcTree;
using fuzz::scrape;
using fuzz::text_of;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& tree = ProcTree::get();
  tree.write("diskstats", text_of(data, size));
  // One collector for the process: compiling its device regex would cost more than the
  // scrape, and the filter's memo of names changes no answer.
  static const auto collector = collectors::make_diskstats_collector(tree.settings());
  scrape(*collector);
  return 0;
}
