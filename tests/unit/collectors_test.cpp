#include "app/catalog.h"
#include "golden.h"

using namespace afp;

TEST_CASE("every collector fails with an error naming the file it could not read", "[collector]") {
  auto settings = test::fixture_settings();
  settings.procfs = test::fixture("does-not-exist");
  struct Case {
    const char* collector;
    const char* file;
  };
  for (auto [name, file] :
       {Case{"cpu", "does-not-exist/stat"}, Case{"loadavg", "does-not-exist/loadavg"},
        Case{"meminfo", "does-not-exist/meminfo"}, Case{"filesystem", "does-not-exist/self/mounts"},
        Case{"diskstats", "does-not-exist/diskstats"}, Case{"netdev", "does-not-exist/net/dev"},
        Case{"process", "does-not-exist/self/stat"}, Case{"stat", "does-not-exist/stat"},
        Case{"vmstat", "does-not-exist/vmstat"}, Case{"filefd", "does-not-exist/sys/fs/file-nr"}}) {
    INFO(name);
    auto c = collectors::find_collector(name)->make({settings, nullptr});
    CHECK_THROWS_AS(test::run_collector(*c), collectors::CollectError);
    CHECK_THROWS_WITH(test::run_collector(*c),
                      Catch::Contains("cannot read") && Catch::Contains(file));
  }
}

TEST_CASE("the catalog lists each collector once, all on by default", "[collector]") {
  std::vector<std::string> names;
  for (const auto& spec : collectors::builtin_collectors()) {
    names.emplace_back(spec.name);
    CHECK(spec.enabled_by_default);
    CHECK(collectors::find_collector(spec.name) == &spec);
  }
  const std::vector<std::string> expected{"cpu",
                                          "loadavg",
                                          "meminfo",
                                          "filesystem",
                                          "diskstats",
                                          "netdev",
                                          "netclass",
                                          "stat",
                                          "vmstat",
                                          "filefd",
                                          "time",
                                          "uname",
                                          "os",
                                          "process",
                                          "postgres",
                                          "pg_stat_database",
                                          "pg_stat_user_tables",
                                          "pg_stat_user_indexes",
                                          "pg_stat_statements",
                                          "pipeline",
                                          "probe"};
  CHECK(names == expected);
  CHECK(collectors::find_collector("nope") == nullptr);
}
