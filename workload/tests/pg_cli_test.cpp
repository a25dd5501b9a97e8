// The afp_workload binary against the test cluster (CTest fixture "pg"): serve, fault,
// init, identify and synth as child processes.

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "lib/child_process.h"
#include "pg_service_support.h"

using namespace afp;
using namespace afp::workload;
using namespace afp::workload::service_test;

namespace {

// The afp_workload binary in a child process, with AFP_PG_DSN set, its output in files.
class Child : public test::ChildProcess {
 public:
  explicit Child(std::vector<std::string> args) : ChildProcess(argv(std::move(args)), options()) {
    REQUIRE(started());
  }

 private:
  static std::vector<std::string> argv(std::vector<std::string> args) {
    args.insert(args.begin(), AFP_WORKLOAD_BINARY);
    return args;
  }
  static test::ChildOptions options() {
    test::ChildOptions o;
    o.env = std::vector<std::string>{"AFP_PG_DSN=" + dsn(), "PATH=/usr/bin:/bin"};
    return o;
  }
};

}  // namespace

TEST_CASE("cli: the binary serves, takes faults and stops on SIGTERM", "[cli]") {
  Child serve({"serve", "--listen", "127.0.0.1:0", "--rate", "5", "--concurrency", "2",
               "--song-seconds", "10", "--clip-seconds", "4", "--unknown-ratio", "0.2"});
  // The port is copied out inside the lambda: a match points into the log it searched.
  std::string port;
  REQUIRE(eventually([&] {
    auto log = serve.err();
    static const std::regex kListening("msg=listening address=127\\.0\\.0\\.1:0 port=([0-9]+)");
    std::smatch match;
    if (!std::regex_search(log, match, kListening)) return false;
    port = match[1].str();
    return true;
  }));
  std::string url = "http://127.0.0.1:" + port;
  HttpClient client;
  auto stats = [&] {
    auto reply = client.send({url + "/stats", "GET", {}, {}, std::chrono::seconds(30)});
    REQUIRE(reply.status == 200);
    return nlohmann::json::parse(reply.body);
  };
  // Its own identify load: clips of the stored songs come back as those songs.
  REQUIRE(eventually([&] { return stats()["load"]["correct"].get<int>() >= 2; }));
  CHECK(stats()["load"]["wrong"] == 0);

  Child fault({"fault", "--url", url, "errors=1", "slow-fingerprint=2"});
  REQUIRE(fault.wait() == 0);
  auto state = nlohmann::json::parse(fault.out());
  CHECK(state["errors"] == 1.0);
  CHECK(state["slow-fingerprint"] == 2.0);
  REQUIRE(eventually([&] { return stats()["load"]["errors"].get<int>() >= 1; }));
  Child clear({"fault", "--url", url + "/", "clear"});
  REQUIRE(clear.wait() == 0);
  CHECK(nlohmann::json::parse(clear.out())["errors"] == false);

  Child bad({"fault", "--url", url, "errors=2"});
  CHECK(bad.wait() == 2);
  CHECK_THAT(bad.err(), Catch::Contains("errors=2"));
  Child no_probe({"fault", "--url", url, "probe-unreachable"});
  CHECK(no_probe.wait() == 1);
  auto no_probe_err = no_probe.err();
  CHECK_THAT(no_probe_err, Catch::Contains("HTTP 409") && Catch::Contains("--probe-listen"));
  CHECK(std::count(no_probe_err.begin(), no_probe_err.end(), '\n') == 1);
  Child unknown_flag({"serve", "--listen-address", "x"});
  CHECK(unknown_flag.wait() == 2);
  CHECK_THAT(unknown_flag.err(), Catch::Contains("unknown flag --listen-address"));

  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
  CHECK_THAT(serve.err(),
             Catch::Contains("msg=\"shutting down\"") && Catch::Contains("msg=stopped"));
}

TEST_CASE(
    "cli: under slow-api the probe still answers within 10 s, and probe-unreachable refuses it",
    "[cli]") {
  // The demo's load: 2 uploads a second, 4 at most in flight.
  Child serve({"serve", "--listen", "127.0.0.1:0", "--probe-listen", "127.0.0.1:0", "--rate", "2",
               "--concurrency", "4", "--song-seconds", "10", "--clip-seconds", "4"});
  std::string port, probe_port;
  REQUIRE(eventually([&] {
    auto log = serve.err();
    static const std::regex kListening("msg=listening address=127\\.0\\.0\\.1:0 port=([0-9]+)");
    static const std::regex kProbe(
        "msg=\"probe listening\" address=127\\.0\\.0\\.1:0 port=([0-9]+)");
    std::smatch main, probe;
    if (!std::regex_search(log, main, kListening) || !std::regex_search(log, probe, kProbe))
      return false;
    port = main[1].str();
    probe_port = probe[1].str();
    return true;
  }));
  std::string url = "http://127.0.0.1:" + port;
  HttpClient client;
  auto stats = [&] {
    auto reply = client.send({url + "/stats", "GET", {}, {}, std::chrono::seconds(5)});
    REQUIRE(reply.status == 200);
    return nlohmann::json::parse(reply.body);
  };
  REQUIRE(eventually([&] { return stats()["load"]["correct"].get<int>() >= 1; }));

  Child slow({"fault", "--url", url, "slow-api"});
  REQUIRE(slow.wait() == 0);
  CHECK(nlohmann::json::parse(slow.out())["slow-api"] == 6.0);
  // Let the load fill its four places with held uploads, then probe as the exporter does.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  auto wav = clip_wav(2, 1.0);
  auto start = std::chrono::steady_clock::now();
  auto probed = client.send({"http://127.0.0.1:" + probe_port + "/identify",
                             "POST",
                             {"Content-Type: audio/wav"},
                             wav,
                             std::chrono::seconds(10)});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  REQUIRE(probed.status == 200);
  CHECK(took >= 6);
  CHECK(took < 9);
  auto during = stats();  // answered at once, while uploads are held
  CHECK(during["load"]["errors"] == 0);

  Child unreachable({"fault", "--url", url, "clear=slow-api", "probe-unreachable"});
  REQUIRE(unreachable.wait() == 0);
  CHECK(nlohmann::json::parse(unreachable.out())["probe-unreachable"] == true);
  auto refused = client.send(
      {"http://127.0.0.1:" + probe_port + "/healthz", "GET", {}, {}, std::chrono::seconds(5)});
  CHECK_FALSE(refused.answered());
  auto sent = stats()["load"]["sent"].get<int>();
  REQUIRE(eventually([&] { return stats()["load"]["sent"].get<int>() >= sent + 2; }));

  Child clear({"fault", "--url", url, "clear"});
  REQUIRE(clear.wait() == 0);
  auto back = client.send(
      {"http://127.0.0.1:" + probe_port + "/healthz", "GET", {}, {}, std::chrono::seconds(5)});
  CHECK(back.status == 200);
  CHECK(stats()["load"]["errors"] == 0);
  serve.signal(SIGTERM);
  CHECK(serve.wait() == 0);
}

TEST_CASE("cli: init, identify and synth from the command line", "[cli]") {
  Child init({"init"});
  CHECK(init.wait() == 0);
  std::string clip = "/tmp/afp_workload_test_clip_" + std::to_string(getpid()) + ".wav";
  Child synth({"synth", "--seed", "6", "--seconds", "10", "--start", "2.5", "--clip-seconds", "5",
               "--out", clip});
  REQUIRE(synth.wait() == 0);
  Child identify({"identify", clip});
  CHECK(identify.wait() == 0);
  auto answer = nlohmann::json::parse(identify.out());
  CHECK(answer["song_name"] == "synthetic-6");
  CHECK(answer["offset_seconds"].get<double>() == Approx(2.5).margin(0.05));
  unlink(clip.c_str());

  Child missing({"identify", "/nonexistent.wav"});
  CHECK(missing.wait() == 1);
  CHECK_THAT(missing.err(), Catch::Contains("/nonexistent.wav"));
}
