#include "collectors/system_collectors.h"
#include "golden.h"

using namespace afp;

namespace {

test::CollectResult collect_over(
    const test::TempTree& tree,
    std::unique_ptr<collectors::Collector> (*make)(const collectors::CollectorSettings&)) {
  auto settings = test::fixture_settings();
  settings.procfs = (tree.root / "proc").string();
  auto c = make(settings);
  return test::run_collector(*c);
}

}  // namespace

TEST_CASE("stat reports boot time, context switches, interrupts, forks and process counts",
          "[collector][stat]") {
  auto c = collectors::make_stat_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "stat");
}

TEST_CASE("stat skips malformed and repeated lines, leaves out what is missing",
          "[collector][stat]") {
  test::TempTree tree("stat");
  tree.write("proc/stat",
             "cpu  1 2 3 4\n"
             "intr\n"                   // no count
             "ctxt 12x\n"               // not a number
             "btime 1418183276\n"       //
             "btime 99\n"               // repeated: the first wins
             "procs_running -1\n"       // not a count
             "processes 26442 extra\n"  // only the first number counts
             "garbage\n\n"
             "procs_blocked 3");  // no newline at the end
  auto r = collect_over(tree, collectors::make_stat_collector);
  CHECK(r.malformed == 4);
  CHECK(r.text.find("node_boot_time_seconds 1418183276\n") != std::string::npos);
  CHECK(r.text.find("node_forks_total 26442\n") != std::string::npos);
  CHECK(r.text.find("node_procs_blocked 3\n") != std::string::npos);
  for (const char* absent : {"node_intr_total", "node_context_switches_total", "node_procs_running",
                             "node_boot_time_seconds 99"}) {
    CHECK(r.text.find(absent) == std::string::npos);
  }
}

TEST_CASE("vmstat reports node_exporter's default fields, untyped", "[collector][vmstat]") {
  auto c = collectors::make_vmstat_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "vmstat");
  CHECK(test::count(r.text, " untyped\n") == 7);
  for (const char* other : {"nr_free_pages", "pgalloc_normal", "pgsteal_kswapd", "workingset"})
    CHECK(r.text.find(other) == std::string::npos);
}

TEST_CASE("vmstat skips malformed and repeated fields", "[collector][vmstat]") {
  test::TempTree tree("vmstat");
  tree.write("proc/vmstat",
             "pgfault 10\n"
             "pgfault 11\n"        // repeated
             "pgmajfault\n"        // no value
             "pswpin 1 2\n"        // too many fields
             "pgpgin -3\n"         // negative
             "pg{x}fault 4\n"      // not a metric name
             "oom_kill_extra 5\n"  // matches the default regexp's prefix
             "nr_dirty garbage\n"  // not exported: not looked at
             "pswpout 7");
  auto r = collect_over(tree, collectors::make_vmstat_collector);
  CHECK(r.malformed == 5);
  CHECK(r.text.find("node_vmstat_pgfault 10\n") != std::string::npos);
  CHECK(r.text.find("node_vmstat_oom_kill_extra 5\n") != std::string::npos);
  CHECK(r.text.find("node_vmstat_pswpout 7\n") != std::string::npos);
  CHECK(test::count(r.text, "# TYPE") == 3);
}

TEST_CASE("filefd reports allocated and maximum file handles", "[collector][filefd]") {
  auto c = collectors::make_filefd_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "filefd");
}

TEST_CASE("filefd refuses a truncated or garbled file-nr", "[collector][filefd]") {
  for (const char* content : {"", "8256\t0", "8256 0 x\n", "a b c\n", "1 0 2 3\n"}) {
    INFO(content);
    test::TempTree tree("filefd");
    tree.write("proc/sys/fs/file-nr", content);
    test::CollectResult r;
    CHECK_THROWS_AS(r = collect_over(tree, collectors::make_filefd_collector),
                    collectors::CollectError);
  }
}
