#include "collectors/system_collectors.h"
#include "golden.h"

using namespace afp;

TEST_CASE("cpu reports seconds per cpu and mode from /proc/stat", "[collector][cpu]") {
  auto c = collectors::make_cpu_collector(test::fixture_settings());
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "cpu");
}

TEST_CASE("cpu skips and counts malformed lines, keeps old-kernel short lines",
          "[collector][cpu]") {
  auto c = collectors::make_cpu_collector(test::fixture_settings("malformed"));
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 3);  // "garbage", "cpuX", the two-field cpu2
  CHECK(r.text.find("cpu=\"0\",mode=\"steal\"") != std::string::npos);
  CHECK(r.text.find("cpu=\"3\",mode=\"idle\"} 4\n") != std::string::npos);
  CHECK(r.text.find("cpu=\"3\",mode=\"iowait\"") == std::string::npos);
  CHECK(r.text.find("cpu=\"1\"") == std::string::npos);
}

TEST_CASE("loadavg reports the three load averages", "[collector][loadavg]") {
  auto c = collectors::make_loadavg_collector(test::fixture_settings());
  test::check_golden(test::run_collector(*c).text, "loadavg");
}

TEST_CASE("loadavg rejects a truncated file", "[collector][loadavg]") {
  auto c = collectors::make_loadavg_collector(test::fixture_settings("malformed"));
  CHECK_THROWS_AS(test::run_collector(*c), collectors::CollectError);
}
