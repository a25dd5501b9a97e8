#pragma once

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "collectors/collector.h"
#include "collectors/settings.h"

namespace afp::test {

inline std::string fixture(const std::string& rel) {
  return std::string(AFP_FIXTURES_DIR) + "/" + rel;
}

inline std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Settings pointing every path flag at the fixture tree tests/fixtures/<tree>/.
inline collectors::CollectorSettings fixture_settings(const std::string& tree = "default") {
  collectors::CollectorSettings s;
  s.procfs = fixture(tree + "/proc");
  s.sysfs = fixture(tree + "/sys");
  s.rootfs = fixture(tree + "/root");
  return s;
}

struct CollectResult {
  std::string text;
  std::uint64_t malformed = 0;
};

inline CollectResult run_collector(collectors::Collector& c) {
  CollectResult r;
  metrics::TextWriter w(r.text);
  collectors::ScrapeContext ctx{w};
  c.collect(ctx);
  r.malformed = ctx.malformed_lines;
  return r;
}

// Compares with tests/fixtures/golden/<name>.prom; AFP_UPDATE_GOLDEN=1 rewrites the file
// (review the diff before committing it).
inline void check_golden(const std::string& text, const std::string& name) {
  std::string path = fixture("golden/" + name + ".prom");
  if (const char* update = std::getenv("AFP_UPDATE_GOLDEN"); update && *update == '1') {
    std::ofstream(path, std::ios::binary) << text;
  }
  INFO("golden file " << path << " (AFP_UPDATE_GOLDEN=1 rewrites it)");
  CHECK(text == slurp(path));
}

// A fixture tree in a fresh temporary directory, removed again at the end of the test.
struct TempTree {
  std::filesystem::path root;
  explicit TempTree(const std::string& name) {
    root =
        std::filesystem::temp_directory_path() / ("afp_" + name + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
  }
  ~TempTree() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  void write(const std::string& rel, const std::string& content) const {
    auto path = root / rel;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << content;
  }
};

// How often needle occurs in text.
inline std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

// The device label of one family's samples, in output order.
inline std::vector<std::string> devices_of(const std::string& text, const std::string& family) {
  std::vector<std::string> out;
  std::string prefix = "\n" + family + "{device=\"";
  for (auto pos = text.find(prefix); pos != std::string::npos; pos = text.find(prefix, pos + 1)) {
    auto start = pos + prefix.size();
    out.push_back(text.substr(start, text.find('"', start) - start));
  }
  return out;
}

}  // namespace afp::test
