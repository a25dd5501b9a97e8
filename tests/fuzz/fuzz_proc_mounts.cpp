// /proc/1/mounts, read by the filesystem collector: octal escapes, the mount point and
// fstype filters, --path.rootfs stripping, de-duplication.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include "collectors/filesystem.h"
#include "harness_support.h"
#include "proc_tree.h"

using namespace afp;
using fuzz::ProcTree;

namespace {

// statfs replaced: every mount answers at once (some with an error), so nothing is ever
// slow or depends on the machine's mounts.
collectors::StatResult fake_statfs(const std::string& path) {
  if (path.size() % 3 == 0) return {ENOENT};
  return {0, 4096, 1000, 500, 400, 100, 50};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& tree = ProcTree::get();
  tree.write("1/mounts", fuzz::text_of(data, size));
  // One collector for the process: its regexes and statfs threads would cost more than
  // the scrape. It re-reads the mount table every time (the file is not procfs).
  static const auto collector = collectors::make_filesystem_collector(tree.settings(), fake_statfs);
  fuzz::scrape(*collector);
  return 0;
}
