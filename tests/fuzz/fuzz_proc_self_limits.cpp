// /proc/self/limits, read by the process collector for process_max_fds and
// process_virtual_memory_max_bytes.
#include <cstddef>
#include <cstdint>

#include "collectors/process.h"
#include "collectors/system_collectors.h"
#include "harness_support.h"
#include "proc_tree.h"

using namespace afp;
using fuzz::ProcTree;
using fuzz::scrape;
using fuzz::text_of;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& tree = ProcTree::get();
  tree.write("self/stat", fuzz::kValidSelfStat);  // the collector needs it; fixed here
  tree.write("self/limits", text_of(data, size));
  scrape(*collectors::make_process_collector(tree.settings(), 4096));
  return 0;
}
