// `afp_exporter profile` on the command line: flags, --help, and the command against a
// small app served by afp::http::Server and the fixture /proc tree.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "cli/profile.h"
#include "cli/profile_judge.h"
#include "cli/profile_plan.h"
#include "cli/profile_render.h"
#include "cli/profile_report.h"
#include "golden.h"
#include "http/server.h"
#include "log/logger.h"

using namespace afp;
namespace p = afp::cli::profile;
using json = nlohmann::json;
using afp::core::Severity;

namespace {

// ---------------------------------------------------------------------------------------
// The command.

struct Run {
  int code;
  std::string out, err;
};

// Sets (or unsets) the DSN variables for its scope, so tests do not see the caller's.
class DsnEnv {
 public:
  explicit DsnEnv(const char* dsn = nullptr) {
    for (const char* name : {"AFP_PG_DSN", "AFP_PG_DSN_FILE"}) {
      const char* v = std::getenv(name);
      saved_.emplace_back(name, v ? std::optional<std::string>(v) : std::nullopt);
      ::unsetenv(name);
    }
    if (dsn != nullptr) ::setenv("AFP_PG_DSN", dsn, 1);
  }
  ~DsnEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) {
        ::setenv(name.c_str(), value->c_str(), 1);
      } else {
        ::unsetenv(name.c_str());
      }
    }
  }
  DsnEnv(const DsnEnv&) = delete;
  DsnEnv& operator=(const DsnEnv&) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

Run profile(const std::vector<std::string>& args) {
  DsnEnv env;
  std::ostringstream out, err;
  int code = cli::run_profile(args, out, err);
  Run r{code, out.str(), err.str()};
  UNSCOPED_INFO("profile exit " << code << "\nstdout:\n" << r.out << "stderr:\n" << r.err);
  return r;
}

// The report's text with its wrapped lines joined again.
std::string unwrap(std::string text) {
  for (auto pos = text.find("\n    "); pos != std::string::npos; pos = text.find("\n    ", pos)) {
    text.replace(pos, 5, " ");
  }
  return text;
}

std::size_t lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// The fingerprinting app as profile sees it: Server-Timing headers of each kind. One per
// process, never stopped.
class App {
 public:
  static App& instance() {
    static auto* app = new App;  // deliberately leaked, see above
    return *app;
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_.ports().at(0)) + path;
  }

 private:
  App() : server_(http::ServerOptions{{"127.0.0.1:0"}, 4, nullptr}, quiet_) {
    answer("/fast", 200, "decode;dur=2, fingerprint;dur=12, db;dur=3");
    answer("/slow-fingerprint", 200, "decode;dur=2, fingerprint;dur=6000, db;dur=4");
    answer("/no-fingerprint", 200, "decode;dur=1, db;dur=2");
    answer("/error", 500, "total;dur=1");
    // Every other upload fails.
    server_.route("/flaky", {"POST"}, [this](const http::Request&, http::Response& res) {
      res.status = flaky_++ % 2 == 0 ? 200 : 503;
      res.headers.emplace_back("Server-Timing", "fingerprint;dur=20");
    });
    server_.start();
  }

  void answer(const std::string& path, int status, std::string timing) {
    server_.route(path, {"POST"}, [=](const http::Request&, http::Response& res) {
      res.status = status;
      res.headers.emplace_back("Server-Timing", timing);
    });
  }

  log::Logger quiet_{log::Level::error, log::Format::logfmt, [](std::string_view) {}};
  http::Server server_;
  std::atomic<int> flaky_{0};
};

// A reference "audio" file for the uploads, removed at the end of the test.
struct AudioFile {
  test::TempTree tree{"profile"};
  std::string path = (tree.root / "probe.wav").string();
  AudioFile() { tree.write("probe.wav", std::string(3000, 'a')); }
};

// A port nobody listens on: bound once, then closed.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::vector<std::string> fixture_flags() {
  auto s = test::fixture_settings();
  return {"--path.procfs", s.procfs, "--path.sysfs", s.sysfs,
          "--path.rootfs", s.rootfs, "--interval",   "10ms"};
}

}  // namespace

TEST_CASE("profile: bad flags and missing inputs exit 2 with one line", "[profile][cli]") {
  AudioFile audio;
  auto [args, message] = GENERATE_COPY(table<std::vector<std::string>, std::string>({
      {{"--bogus"}, "profile: unknown flag --bogus (see afp_exporter profile --help)"},
      {{"stray"}, "profile: unexpected argument \"stray\""},
      {{"--mode", "fast"},
       "profile: flag --mode: \"fast\" is not audio, api, database, system or full"},
      {{"--mode"}, "profile: flag --mode needs a value"},
      {{"--iterations", "0"},
       "profile: flag --iterations: \"0\" is not a whole number from 1 to "
       "100000"},
      {{"--iterations=ten"},
       "profile: flag --iterations: \"ten\" is not a whole number from 1 to "
       "100000"},
      {{"--iterations", "-3"},
       "profile: flag --iterations: \"-3\" is not a whole number from 1 "
       "to 100000"},
      {{"--timeout", "soon"},
       "profile: flag --timeout: not a duration: \"soon\" (e.g. 500ms, 30s, 1h)"},
      {{"--raw-body=yes"}, "profile: flag --raw-body takes no value"},
      {{"--mode", "api"}, "profile: --mode api needs --url (the app's identify endpoint)"},
      {{"--mode", "audio"}, "profile: --mode audio needs --url (the app's identify endpoint)"},
      {{"--mode", "api", "--url", "http://127.0.0.1:1/identify"},
       "profile: --url needs --audio-file (the reference audio to upload)"},
      {{"--audio-file", audio.path},
       "profile: --audio-file needs --url (the app's identify "
       "endpoint)"},
      {{"--mode", "api", "--url", "http://127.0.0.1:1/identify", "--audio-file",
        audio.path + ".missing"},
       "profile: probe audio file \"" + audio.path + ".missing\": No such file or directory"},
      {{"--mode", "api", "--url", "ftp://example.com/x", "--audio-file", audio.path},
       "profile: probe URL \"ftp://example.com/x\" must be an http:// or https:// URL with a "
       "host"},
      {{"--mode", "database"},
       "profile: no PostgreSQL DSN: set AFP_PG_DSN or AFP_PG_DSN_FILE, or pass --pg.dsn-file "
       "FILE"},
      {{"--mode", "database", "--pg.dsn-file", audio.path + ".missing"},
       "profile: pg.dsn-file " + audio.path +
           ".missing: cannot read the file: No such file or directory"},
      {{"--mode", "system", "--output", "/nonexistent-dir/report.json"},
       "profile: cannot write the report to /nonexistent-dir/report.json: No such file or "
       "directory"},
  }));
  auto r = profile(args);
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(lines(r.err) == 1);
  CHECK(r.err == message + "\n");
}

TEST_CASE("profile: --help", "[profile][cli]") {
  auto r = profile({"--help"});
  CHECK(r.code == 0);
  CHECK(r.out.rfind("usage: afp_exporter profile [--mode audio|api|database|system|full]", 0) == 0);
  CHECK(r.err.empty());
}

TEST_CASE("profile: api against a fast app passes", "[profile][cli]") {
  AudioFile audio;
  auto r = profile({"--mode", "api", "--iterations", "3", "--url", App::instance().url("/fast"),
                    "--audio-file", audio.path});
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out.find("3 uploads of probe.wav (2.9 KiB), 0 failed\n") != std::string::npos);
  CHECK(r.out.find("\n  stage fingerprint         3  0.012 s  0.012 s  0.012 s  0.012 s      3 s "
                   "      5 s  PASS\n") != std::string::npos);
  CHECK(r.out.find("\n  stage db                  3  0.003 s") != std::string::npos);
  CHECK(r.out.find("\n  stage decode              3  0.002 s") != std::string::npos);
  CHECK(r.out.find("recommendations") == std::string::npos);
  CHECK(r.out.substr(r.out.size() - 13) == "result: PASS\n");
}

TEST_CASE("profile: a slow fingerprint stage fails with a recommendation", "[profile][cli]") {
  AudioFile audio;
  auto mode = GENERATE(as<std::string>{}, "api", "audio");
  auto r =
      profile({"--mode", mode, "--iterations=2",
               "--url=" + App::instance().url("/slow-fingerprint"), "--audio-file=" + audio.path});
  CHECK(r.code == 1);
  CHECK(r.err.empty());
  CHECK(r.out.find("6.000 s      3 s       5 s  FAIL\n") != std::string::npos);
  CHECK(unwrap(r.out).find("  - " + mode +
                           ": fingerprint generation p95 is 6.000 s, over the 5 s critical "
                           "threshold: lower the FFT window overlap") != std::string::npos);
  CHECK(r.out.find("result: FAIL (1 check failed)\n") != std::string::npos);
  if (mode == "audio") CHECK(r.out.find("API total processing") == std::string::npos);
}

TEST_CASE("profile: failing uploads are reported and fail the run", "[profile][cli]") {
  AudioFile audio;
  SECTION("every answer a 500") {
    auto r = profile({"--mode", "api", "--iterations", "2", "--url", App::instance().url("/error"),
                      "--audio-file", audio.path});
    CHECK(r.code == 1);
    CHECK(r.out.find("2 uploads of probe.wav (2.9 KiB), 2 failed\n    2x HTTP status 500\n") !=
          std::string::npos);
    CHECK(r.out.find("API total processing      0    -") != std::string::npos);
    CHECK(r.out.find("result: FAIL (2 of 2 api iterations failed)\n") != std::string::npos);
  }
  SECTION("every other answer a 503") {
    auto r = profile({"--mode", "audio", "--iterations", "4", "--url",
                      App::instance().url("/flaky"), "--audio-file", audio.path});
    CHECK(r.code == 1);
    CHECK(r.out.find("4 uploads of probe.wav (2.9 KiB), 2 failed\n    2x HTTP status 503\n") !=
          std::string::npos);
    CHECK(r.out.find("fingerprint generation      2  0.020 s") != std::string::npos);
  }
}

TEST_CASE("profile: audio needs a fingerprint stage", "[profile][cli]") {
  AudioFile audio;
  auto url = App::instance().url("/no-fingerprint");
  auto r =
      profile({"--mode", "audio", "--iterations", "2", "--url", url, "--audio-file", audio.path});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err == "profile: the app at " + url +
                     " sends no \"fingerprint\" Server-Timing stage (stages: decode, db); --mode "
                     "audio needs one, e.g. Server-Timing: fingerprint;dur=1840\n");
  // api mode does without it.
  CHECK(profile({"--mode", "api", "--iterations", "1", "--url", url, "--audio-file", audio.path})
            .code == 0);
}

TEST_CASE("profile: an app that cannot be reached is an error", "[profile][cli]") {
  AudioFile audio;
  auto url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/identify";
  auto r =
      profile({"--mode", "api", "--iterations", "5", "--url", url, "--audio-file", audio.path});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(lines(r.err) == 1);
  CHECK(r.err.rfind("profile: cannot reach " + url + ": ", 0) == 0);
}

TEST_CASE("profile: --output writes JSON and one line on stdout", "[profile][cli]") {
  AudioFile audio;
  auto path = (audio.tree.root / "report.json").string();
  auto r = profile({"--mode", "api", "--iterations", "2", "--url",
                    App::instance().url("/slow-fingerprint"), "--audio-file", audio.path,
                    "--output", path});
  CHECK(r.code == 1);
  CHECK(r.err.empty());
  CHECK(r.out == "profile: FAIL (1 check failed); JSON report written to " + path + "\n");
  auto doc = json::parse(test::slurp(path));
  CHECK(doc["mode"] == "api");
  CHECK(doc["exit_code"] == 1);
  const auto& measures = doc["sections"][0]["measures"];
  REQUIRE(measures.size() == 4);
  CHECK(measures[1]["id"] == "stage_fingerprint");
  CHECK(measures[1]["count"] == 2);
  CHECK(measures[1]["p95"] == 6.0);
  CHECK(measures[1]["result"] == "fail");
}

TEST_CASE("profile: system mode on the fixture /proc tree", "[profile][cli]") {
  auto args = fixture_flags();
  args.insert(args.begin(), {"--mode", "system"});
  auto r = profile(args);
  // The fixture does not change between the two reads: no CPU time passes.
  CHECK(r.out.find("\n  CPU busy ") != std::string::npos);
  CHECK(r.out.find("n/a (no CPU time passed between the scrapes)") != std::string::npos);
  // MemAvailable 9876540 of MemTotal 16318460 kB.
  CHECK(r.out.find("\n  memory used ") != std::string::npos);
  CHECK(r.out.find("39.5%      80%       95%  PASS\n") != std::string::npos);
  // The disks are the real filesystem under the fixture root: whatever they hold, the exit
  // code follows the rows.
  bool bad =
      r.out.find("%  WARN") != std::string::npos || r.out.find("%  FAIL") != std::string::npos;
  CHECK(r.code == (bad ? 1 : 0));
}

TEST_CASE("profile: full mode without a URL or DSN profiles the system", "[profile][cli]") {
  auto args = fixture_flags();
  auto r = profile(args);
  CHECK((r.code == 0 || r.code == 1));
  CHECK(r.out.rfind("profile: mode full; percentiles are nearest-rank\n", 0) == 0);
  CHECK(r.out.find("\nsystem: local\n") != std::string::npos);
  CHECK(r.out.find("\napi: ") == std::string::npos);
  CHECK(r.out.find("skipped: api and audio: no --url given\nskipped: database: no DSN") !=
        std::string::npos);
}
