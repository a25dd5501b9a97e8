#include "proc_tree.h"

#include <stdlib.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "harness_support.h"
#include "metrics/text_writer.h"

namespace afp::fuzz {

namespace fs = std::filesystem;

const ProcTree& ProcTree::get() {
  static const ProcTree tree;
  return tree;
}

namespace {

// Memory-backed when the machine has /dev/shm: each input is written out, and on disk
// that costs ten times what the collector takes to parse it.
fs::path scratch_parent() {
  std::error_code ec;
  if (fs::is_directory("/dev/shm", ec)) return "/dev/shm";
  return fs::temp_directory_path();
}

}  // namespace

ProcTree::ProcTree() {
  std::string pattern = (scratch_parent() / "afp_fuzz_proc_XXXXXX").string();
  require(::mkdtemp(pattern.data()) != nullptr, "a scratch directory can be made");
  root_ = pattern;
  for (const char* dir : {"proc", "sys", "root"})
    fs::create_directories(root_ / dir);
}

ProcTree::~ProcTree() {
  std::error_code ec;
  fs::remove_all(root_, ec);
}

collectors::CollectorSettings ProcTree::settings() const {
  collectors::CollectorSettings s;
  s.procfs = (root_ / "proc").string();
  s.sysfs = (root_ / "sys").string();
  s.rootfs = (root_ / "root").string();
  return s;
}

void ProcTree::write(std::string_view rel, std::string_view content) const {
  write_in_tree(std::string("proc/").append(rel), content);
}

void ProcTree::remove_in_tree(std::string_view rel) const {
  std::error_code ec;
  fs::remove(root_ / rel, ec);
}

void ProcTree::write_in_tree(std::string_view rel, std::string_view content) const {
  auto path = root_ / rel;
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
  require(out.good(), "the input can be written to the scratch tree");
}

void scrape(collectors::Collector& collector) {
  std::string text;
  metrics::TextWriter writer(text);
  collectors::ScrapeContext ctx{writer};
  try {
    collector.collect(ctx);
  } catch (const collectors::CollectError&) {
    return;
  }
  require_exposition(text);
}

}  // namespace afp::fuzz
