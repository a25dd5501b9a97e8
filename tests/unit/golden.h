#pragma once

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

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

}  // namespace afp::test
