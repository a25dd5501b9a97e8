#pragma once

// The collectors keep their /proc parsers private and read files by path, so their
// harnesses write each input to a file of a scratch procfs tree and run the collector
// over it, as the golden tests do with tests/fixtures.

#include <filesystem>
#include <string_view>

#include "collectors/collector.h"
#include "collectors/settings.h"

namespace afp::fuzz {

// A well-formed /proc/self/stat (tests/fixtures/default), for harnesses of the process
// collector's other inputs: without it the collector refuses to run.
inline constexpr std::string_view kValidSelfStat =
    "4242 (afp) S 1 4242 4242 0 -1 4194560 5062 0 3 0 1712 845 0 0 20 0 9 0 123456 734195712 "
    "4521 18446744073709551615 94219400396800 94219400416681 140732185281024 0 0 0 0 0 0 0 0 0 "
    "17 1 0 0 0 0 0\n";

// A proc/, sys/ and root/ tree under /dev/shm (or the temp directory), made on first use
// and removed at exit; one per process, so parallel fuzzing jobs never share files.
class ProcTree {
 public:
  static const ProcTree& get();
  ~ProcTree();
  ProcTree(const ProcTree&) = delete;
  ProcTree& operator=(const ProcTree&) = delete;

  // Every path flag pointed at the tree.
  collectors::CollectorSettings settings() const;
  // Replaces proc/<rel> (directories made as needed).
  void write(std::string_view rel, std::string_view content) const;
  // Replaces <rel> under the tree's top, e.g. "sys/class/net/eth0/mtu" or "root/etc/x".
  void write_in_tree(std::string_view rel, std::string_view content) const;
  // Removes <rel> under the tree's top, if it is there.
  void remove_in_tree(std::string_view rel) const;

 private:
  ProcTree();
  std::filesystem::path root_;
};

// One scrape by `collector`. CollectError is its answer to input it cannot use, not a
// finding; anything it wrote otherwise must be a valid exposition.
void scrape(collectors::Collector& collector);

}  // namespace afp::fuzz
