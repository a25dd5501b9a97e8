// /proc/stat: the cpu collector's per-CPU lines, the stat collector's other lines, and the
// btime line the process collector reads for process_start_time_seconds.
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
  tree.write("stat", text_of(data, size));
  auto settings = tree.settings();
  scrape(*collectors::make_cpu_collector(settings));
  scrape(*collectors::make_stat_collector(settings));
  // A new collector each time: it reads btime once and caches the start time.
  scrape(*collectors::make_process_collector(settings, 4096));
  return 0;
}
