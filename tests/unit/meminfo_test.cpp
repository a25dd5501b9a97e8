#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "collectors/system_collectors.h"
#include "golden.h"

using namespace afp;
using test::count;
using test::devices_of;

TEST_CASE("meminfo reports every field in bytes, unit-less fields as they are",
          "[collector][meminfo]") {
  auto c = collectors::make_meminfo_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "meminfo");

  // 55 lines in the fixture, one gauge family each.
  CHECK(count(r.text, "# TYPE ") == 55);
  CHECK(count(r.text, " gauge\n") == 55);
  // kB * 1024
  CHECK(r.text.find("# HELP node_memory_MemTotal_bytes Memory information field "
                    "MemTotal_bytes.\n# TYPE node_memory_MemTotal_bytes gauge\n"
                    "node_memory_MemTotal_bytes 16710103040\n") != std::string::npos);
  CHECK(r.text.find("\nnode_memory_VmallocTotal_bytes 35184372087808\n") != std::string::npos);
  CHECK(r.text.find("\nnode_memory_Hugepagesize_bytes 2097152\n") != std::string::npos);
  CHECK(r.text.find("\nnode_memory_Zswap_bytes 0\n") != std::string::npos);
  // Parenthesised kernel names, node_exporter style.
  CHECK(r.text.find("\nnode_memory_Active_anon_bytes 3539742720\n") != std::string::npos);
  CHECK(r.text.find("Memory information field Inactive_file_bytes.") != std::string::npos);
  CHECK(r.text.find('(') == std::string::npos);
  // No unit: no _bytes suffix, no scaling, still a gauge (suffix "_Total", not "_total").
  CHECK(r.text.find("# HELP node_memory_HugePages_Total Memory information field "
                    "HugePages_Total.\n# TYPE node_memory_HugePages_Total gauge\n"
                    "node_memory_HugePages_Total 64\n") != std::string::npos);
  CHECK(r.text.find("\nnode_memory_HugePages_Rsvd 2\n") != std::string::npos);
  CHECK(r.text.find("HugePages_Free_bytes") == std::string::npos);
  // The fields the dashboards and rules depend on.
  for (const char* field :
       {"MemTotal", "MemAvailable", "MemFree", "Buffers", "Cached", "SwapTotal", "SwapFree"}) {
    INFO(field);
    CHECK(r.text.find(std::string("\nnode_memory_") + field + "_bytes ") != std::string::npos);
  }
}

TEST_CASE("meminfo skips and counts malformed lines and keeps the good ones",
          "[collector][meminfo]") {
  auto c = collectors::make_meminfo_collector(test::fixture_settings("malformed"));
  auto r = test::run_collector(*c);
  // MemFree (garbage value), MemAvailable (no colon), Buffers (extra field), Cached (no
  // value), Weird (unit MB), Shmem (negative), "Inact(ive(file)" (bad name), the second
  // MemTotal, ":" (empty name) and the cut-off "Direct"; the blank line is not counted.
  CHECK(r.malformed == 10);
  CHECK(r.text ==
        "# HELP node_memory_MemTotal_bytes Memory information field MemTotal_bytes.\n"
        "# TYPE node_memory_MemTotal_bytes gauge\n"
        "node_memory_MemTotal_bytes 16710103040\n"
        "# HELP node_memory_Active_anon_bytes Memory information field Active_anon_bytes.\n"
        "# TYPE node_memory_Active_anon_bytes gauge\n"
        "node_memory_Active_anon_bytes 3539742720\n"
        "# HELP node_memory_HugePages_Total Memory information field HugePages_Total.\n"
        "# TYPE node_memory_HugePages_Total gauge\n"
        "node_memory_HugePages_Total 64\n"
        "# HELP node_memory_SwapTotal_bytes Memory information field SwapTotal_bytes.\n"
        "# TYPE node_memory_SwapTotal_bytes gauge\n"
        "node_memory_SwapTotal_bytes 8589930496\n");
}

TEST_CASE("meminfo fails on an empty file", "[collector][meminfo]") {
  auto c = collectors::make_meminfo_collector(test::fixture_settings("empty"));
  CHECK_THROWS_WITH(test::run_collector(*c), Catch::Contains("no MemTotal"));
}

TEST_CASE("meminfo fails when MemTotal is unusable, counting the bad line",
          "[collector][meminfo]") {
  test::TempTree proc("meminfo_bad_total");
  proc.write("meminfo", "MemTotal:       garbage kB\nMemFree:  1024 kB\nHugePages_Total: 0\n");
  auto settings = test::fixture_settings();
  settings.procfs = proc.root.string();
  auto c = collectors::make_meminfo_collector(settings);
  std::string text;
  metrics::TextWriter w(text);
  collectors::ScrapeContext ctx{w};
  CHECK_THROWS_AS(c->collect(ctx), collectors::CollectError);
  CHECK(ctx.malformed_lines == 1);
}

TEST_CASE("meminfo requires MemTotal in kB", "[collector][meminfo]") {
  test::TempTree proc("meminfo_unitless_total");
  proc.write("meminfo", "MemTotal: 1024\nMemFree:  1024 kB\n");
  auto settings = test::fixture_settings();
  settings.procfs = proc.root.string();
  auto c = collectors::make_meminfo_collector(settings);
  CHECK_THROWS_WITH(test::run_collector(*c), Catch::Contains("no MemTotal"));
}

TEST_CASE("meminfo writes a family once when two keys spell the same name",
          "[collector][meminfo]") {
  // Found by fuzzing (tests/fuzz/regressions/proc_meminfo): a second family of one name
  // makes Prometheus refuse the whole scrape. The first line wins, the other is malformed.
  test::TempTree proc("meminfo_same_name");
  proc.write("meminfo",
             "MemTotal: 1 kB\nActive(anon): 2 kB\nActive_anon: 3 kB\nX: 4 kB\n"
             "X_bytes: 5\n");
  auto settings = test::fixture_settings();
  settings.procfs = proc.root.string();
  auto c = collectors::make_meminfo_collector(settings);
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 2);
  CHECK(count(r.text, "# TYPE node_memory_Active_anon_bytes ") == 1);
  CHECK(r.text.find("\nnode_memory_Active_anon_bytes 2048\n") != std::string::npos);
  CHECK(count(r.text, "# TYPE node_memory_X_bytes ") == 1);
  CHECK(r.text.find("\nnode_memory_X_bytes 4096\n") != std::string::npos);
}
