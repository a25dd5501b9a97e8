// /sys/class/net/<device>/*, read by the netclass collector. The input is split at NUL
// bytes into the attribute files below, in order; attributes past the last piece are
// absent (seed_corpus.py builds the seeds the same way).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "collectors/system_collectors.h"
#include "harness_support.h"
#include "proc_tree.h"

using namespace afp;
using fuzz::ProcTree;
using fuzz::scrape;
using fuzz::text_of;

namespace {
constexpr std::array<std::string_view, 12> kAttributes{
    "address",         "broadcast", "duplex", "ifalias", "operstate", "carrier",
    "carrier_changes", "ifindex",   "mtu",    "type",    "speed",     "tx_queue_len"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto& tree = ProcTree::get();
  auto input = text_of(data, size);
  bool exhausted = false;
  for (auto attribute : kAttributes) {
    std::string path = std::string("sys/class/net/eth0/").append(attribute);
    if (exhausted) {
      tree.remove_in_tree(path);
      continue;
    }
    auto end = input.find('\0');
    tree.write_in_tree(path, input.substr(0, end));
    exhausted = end == std::string_view::npos;
    if (!exhausted) input.remove_prefix(end + 1);
  }
  scrape(*collectors::make_netclass_collector(tree.settings()));
  return 0;
}
