#include "collectors/process.h"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "collectors/system_collectors.h"
#include "golden.h"
#include "metrics/text_parser.h"

using namespace afp;

namespace {

// A scratch procfs tree under the temp dir, removed at the end of the test.
struct TempProc {
  std::filesystem::path root;
  TempProc() {
    root =
        std::filesystem::temp_directory_path() / ("afp-process-test-" + std::to_string(::getpid()));
    std::filesystem::remove_all(root);
    std::filesystem::create_directories(root / "self");
  }
  ~TempProc() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(root / rel, std::ios::binary) << text;
  }
  collectors::CollectorSettings settings() const {
    collectors::CollectorSettings s;
    s.procfs = root.string();
    return s;
  }
};

double value_of(const std::vector<metrics::Sample>& samples, std::string_view name) {
  const auto* s = metrics::find_sample(samples, name);
  INFO("metric " << name);
  REQUIRE(s != nullptr);
  return s->value;
}

}  // namespace

TEST_CASE("process reports the standard process metrics", "[collector][process]") {
  // The fixture's comm is "afp) export(er": spaces, ')' and '(' inside the parentheses.
  auto c = collectors::make_process_collector(test::fixture_settings(), 4096);
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  test::check_golden(r.text, "process");

  auto samples = metrics::parse_text(r.text);
  CHECK(value_of(samples, "process_cpu_seconds_total") == Approx(25.57));  // (1712+845)/100
  CHECK(value_of(samples, "process_open_fds") == 4);
  CHECK(value_of(samples, "process_max_fds") == 1024);  // the soft limit
  CHECK(value_of(samples, "process_resident_memory_bytes") == 4521.0 * 4096);
  CHECK(value_of(samples, "process_virtual_memory_bytes") == 734195712);
  // "unlimited" is the largest uint64, as client_golang reports it (16 digits in text).
  CHECK(value_of(samples, "process_virtual_memory_max_bytes") == Approx(18446744073709551615.0));
  CHECK(value_of(samples, "process_start_time_seconds") == Approx(1418183276 + 1234.56));
}

TEST_CASE("process rejects a malformed /proc/self/stat", "[collector][process]") {
  auto c = collectors::make_process_collector(test::fixture_settings("malformed"), 4096);
  CHECK_THROWS_WITH(test::run_collector(*c),
                    Catch::Contains("malformed") && Catch::Contains("self/stat"));

  TempProc proc;
  auto stat = test::slurp(test::fixture("default/proc/self/stat"));
  SECTION("no closing parenthesis") {
    proc.write("self/stat", "4242 (afp S 1 4242 4242 0 -1 4194560 5062 0 3 0 1712 845\n");
  }
  SECTION("a non-number where rss belongs") {
    proc.write("self/stat", stat.replace(stat.find(" 4521 "), 6, " lots "));
  }
  SECTION("empty") {
    proc.write("self/stat", "");
  }
  auto bad = collectors::make_process_collector(proc.settings(), 4096);
  CHECK_THROWS_AS(test::run_collector(*bad), collectors::CollectError);
}

TEST_CASE("process leaves out what it cannot read and counts malformed limits",
          "[collector][process]") {
  TempProc proc;
  proc.write("self/stat", test::slurp(test::fixture("default/proc/self/stat")));
  proc.write("self/limits", test::slurp(test::fixture("malformed/proc/self/limits")));
  // No self/fd directory and no stat (btime) file.
  auto c = collectors::make_process_collector(proc.settings(), 4096);
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 1);  // "Max open files  lots"
  auto samples = metrics::parse_text(r.text);
  CHECK(metrics::find_sample(samples, "process_max_fds") == nullptr);
  CHECK(metrics::find_sample(samples, "process_open_fds") == nullptr);
  CHECK(metrics::find_sample(samples, "process_start_time_seconds") == nullptr);
  CHECK(value_of(samples, "process_virtual_memory_max_bytes") == 8589934592.0);
  CHECK(value_of(samples, "process_cpu_seconds_total") == Approx(25.57));
}

TEST_CASE("process reads the real /proc", "[collector][process]") {
  // Burn some CPU so that utime + stime has ticked at least once.
  auto start = std::clock();
  volatile double sink = 0;
  while (std::clock() - start < CLOCKS_PER_SEC / 10)
    sink = sink + 1;

  auto c = collectors::make_process_collector(collectors::CollectorSettings{});
  auto r = test::run_collector(*c);
  CHECK(r.malformed == 0);
  auto samples = metrics::parse_text(r.text);
  CHECK(value_of(samples, "process_cpu_seconds_total") > 0);
  CHECK(value_of(samples, "process_open_fds") > 0);
  CHECK(value_of(samples, "process_max_fds") > 0);
  CHECK(value_of(samples, "process_virtual_memory_bytes") > 0);
  CHECK(value_of(samples, "process_virtual_memory_max_bytes") > 0);
  CHECK(value_of(samples, "process_resident_memory_bytes") > 0);
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch());
  double started = value_of(samples, "process_start_time_seconds");
  CHECK(started > 1e9);
  CHECK(started < now.count() + 3600);
}
