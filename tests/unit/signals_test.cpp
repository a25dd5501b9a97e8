#include <fstream>

#include "golden.h"
#include "http_client.h"
#include "process_runner.h"

using namespace afp;
using namespace std::chrono_literals;

namespace {

std::vector<std::string> fixture_args() {
  return {"--web.listen-address=127.0.0.1:0", "--path.procfs=" + test::fixture("default/proc"),
          "--collector.disable-defaults", "--collector.cpu", "--collector.loadavg"};
}

std::string scrape(int port) {
  return test::http_request("http://127.0.0.1:" + std::to_string(port) + "/metrics").body;
}

}  // namespace

TEST_CASE("SIGTERM and SIGINT stop the exporter with exit code 0", "[signals]") {
  for (int sig : {SIGTERM, SIGINT}) {
    test::ExporterProcess p(fixture_args());
    auto port = p.wait_port();
    REQUIRE(port);
    CHECK(scrape(*port).find("node_load1 0.21") != std::string::npos);
    p.signal(sig);
    // Generous bound: the requirement is 5 s; this only catches a hang on a noisy machine.
    CHECK(p.wait_exit(15s) == 0);
    CHECK_THAT(p.log(), Catch::Contains("msg=\"shutting down\""));
  }
}

TEST_CASE("SIGHUP reloads the config file and a bad file keeps the old config", "[signals]") {
  std::string path = "/tmp/afp_reload_test_" + std::to_string(getpid()) + ".json";
  std::ofstream(path) << R"({"collector.loadavg": true})";
  auto args = fixture_args();
  args.pop_back();  // loadavg comes from the file alone: a flag would override the file
  args.push_back("--config.file=" + path);
  test::ExporterProcess p(args);
  auto port = p.wait_port();
  REQUIRE(port);
  CHECK(scrape(*port).find("node_load1 ") != std::string::npos);

  std::ofstream(path, std::ios::trunc) << R"({"collector.loadavg": false})";
  p.signal(SIGHUP);
  bool reloaded = false;
  for (int i = 0; i < 500 && !reloaded; ++i) {
    reloaded = p.log().find("configuration reloaded") != std::string::npos;
    std::this_thread::sleep_for(10ms);
  }
  REQUIRE(reloaded);
  CHECK(scrape(*port).find("node_load1 ") == std::string::npos);

  std::ofstream(path, std::ios::trunc) << R"({"collector.loadavg": "sometimes"})";
  p.signal(SIGHUP);
  bool rejected = false;
  for (int i = 0; i < 500 && !rejected; ++i) {
    rejected = p.log().find("reload failed") != std::string::npos;
    std::this_thread::sleep_for(10ms);
  }
  CHECK(rejected);
  CHECK_THAT(p.log(), Catch::Contains("collector.loadavg"));
  auto still = scrape(*port);
  CHECK(still.find("node_cpu_seconds_total") != std::string::npos);  // still serving
  CHECK(still.find("node_load1 ") == std::string::npos);             // old config kept
  p.signal(SIGTERM);
  CHECK(p.wait_exit(15s) == 0);
  unlink(path.c_str());
}

TEST_CASE("startup errors: one line on stderr, exit code 2", "[signals][config]") {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  std::vector<Case> cases{
      {{"--bogus-flag"}, "unknown flag --bogus-flag"},
      {{"--web.listen-address=127.0.0.1:99999"}, "bad port"},
      {{"--path.procfs=/nonexistent-procfs", "--web.listen-address=127.0.0.1:0"},
       "--path.procfs \"/nonexistent-procfs\": cannot read"},
      {{"--config.file=/nonexistent/afp.json"}, "cannot be read"},
  };
  for (const auto& c : cases) {
    test::ExporterProcess p(c.args);
    CHECK(p.wait_exit(15s) == 2);
    auto log = p.log();
    CHECK_THAT(log, Catch::Contains(c.message));
    CHECK(std::count(log.begin(), log.end(), '\n') == 1);
  }
}

TEST_CASE("a listen port in use: exit code 2 naming the address and the flag", "[signals]") {
  test::ExporterProcess first(fixture_args());
  auto port = first.wait_port();
  REQUIRE(port);
  auto args = fixture_args();
  args[0] = "--web.listen-address=127.0.0.1:" + std::to_string(*port);
  test::ExporterProcess second(args);
  CHECK(second.wait_exit(15s) == 2);
  CHECK(second.log() == "afp_exporter: cannot listen on \"127.0.0.1:" + std::to_string(*port) +
                            "\": address already in use (another process holds the port: stop "
                            "it, or choose another port with --web.listen-address)\n");
}
