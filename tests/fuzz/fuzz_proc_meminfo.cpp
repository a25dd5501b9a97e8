// /proc/meminfo, read by the meminfo collector: one family per line, named from the
// line's key.
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
  tree.write("meminfo", text_of(data, size));
  scrape(*collectors::make_meminfo_collector(tree.settings()));
  return 0;
}
