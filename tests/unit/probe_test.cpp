#include "pipeline/probe.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "build_info.h"
#include "golden.h"
#include "http/server.h"
#include "log/logger.h"
#include "metrics/text_parser.h"
#include "metrics/text_writer.h"

using namespace afp;
using namespace std::chrono_literals;
using pipeline::Probe;
using pipeline::ProbeError;
using pipeline::ProbeOptions;

namespace {

// Bytes that a text-minded upload would mangle: NULs, CR LF, and "--" like a boundary.
std::string audio_bytes(std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    out[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  out.replace(100, 8, "\r\n--\r\n\r\n");
  return out;
}

template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds limit = 30s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// Holds slow handlers until released, so that no test waits for a sleeping server.
struct Gate {
  std::mutex mutex;
  std::condition_variable cv;
  bool open = false;
  void wait_up_to(std::chrono::milliseconds limit) {
    std::unique_lock lock(mutex);
    cv.wait_for(lock, limit, [this] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    cv.notify_all();
  }
};

// The fingerprinting app as the probe sees it, on afp::http::Server.
class FakeApp {
 public:
  FakeApp() : server_(http::ServerOptions{{"127.0.0.1:0"}, 8, nullptr}, quiet_) {
    route("/identify", 200,
          {"fingerprint;dur=1840;desc=\"landmarks, hashes\", lookup;dur=41", "total;dur=2310"});
    route("/no-timing", 200, {});
    route("/error", 500, {"total;dur=3"});
    route("/malformed", 200, {"total;dur=-1"});
    server_.route("/slow", {"POST"}, [this](const http::Request&, http::Response& res) {
      int now = ++active;
      for (int seen = max_active.load();
           now > seen && !max_active.compare_exchange_weak(seen, now);)
        ;
      gate.wait_up_to(std::chrono::milliseconds(slow_ms.load()));
      --active;
      ++requests;
      res.headers.emplace_back("Server-Timing", "slow;dur=1");
    });
    server_.route("/capture", {"POST"}, [this](const http::Request& req, http::Response& res) {
      Captured c{std::string(req.method), std::string(req.header("Content-Type")), {}};
      c.body_ok = req.read_body(128u << 20, &c.body) == http::BodyStatus::Ok;
      std::lock_guard lock(mutex_);
      captured_ = std::move(c);
      res.headers.emplace_back("Server-Timing", "total;dur=5");
    });
    server_.start();
  }
  ~FakeApp() {
    gate.release();
    server_.stop();
  }

  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_.ports().at(0)) + path;
  }
  std::string header(const std::string& name) {
    std::lock_guard lock(mutex_);
    return headers_[name];
  }
  // The last request to /capture, body included.
  struct Captured {
    std::string method, content_type, body;
    bool body_ok = false;  // Catch2 assertions belong on the test's thread, not here
  };
  Captured captured() {
    std::lock_guard lock(mutex_);
    return captured_;
  }

  Gate gate;
  std::atomic<int> slow_ms{60000};
  std::atomic<int> active{0}, max_active{0}, requests{0};

 private:
  void route(const std::string& path, int status, std::vector<std::string> timing) {
    server_.route(path, {"POST"}, [=, this](const http::Request& req, http::Response& res) {
      {
        std::lock_guard lock(mutex_);
        for (const char* name : {"User-Agent", "Content-Type", "Content-Length", "Expect"})
          headers_[name] = std::string(req.header(name));
      }
      ++requests;
      res.status = status;
      for (const auto& value : timing)
        res.headers.emplace_back("Server-Timing", value);
    });
  }

  log::Logger quiet_{log::Level::error};
  http::Server server_;
  std::mutex mutex_;
  std::map<std::string, std::string> headers_;
  Captured captured_;
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

struct Fixture {
  test::TempTree tree{"probe"};
  std::string audio = audio_bytes(300000);
  std::string audio_path = (tree.root / "reference.wav").string();
  std::mutex lines_mutex;
  std::vector<std::string> lines;
  log::Logger log{log::Level::debug, log::Format::logfmt, [this](std::string_view line) {
                    std::lock_guard lock(lines_mutex);
                    lines.emplace_back(line);
                  }};

  Fixture() { tree.write("reference.wav", audio); }

  ProbeOptions options(const std::string& url) const {
    ProbeOptions o;
    o.url = url;
    o.audio_file = audio_path;
    o.timeout = 20s;
    return o;
  }
  std::size_t count_lines(const std::string& level, const std::string& msg) {
    std::lock_guard lock(lines_mutex);
    std::size_t n = 0;
    for (const auto& line : lines)
      n += line.find("level=" + level + " msg=\"" + msg + "\"") != std::string::npos;
    return n;
  }
  std::string all_lines() {
    std::lock_guard lock(lines_mutex);
    std::string out;
    for (const auto& line : lines)
      out += line;
    return out;
  }
};

std::vector<metrics::Sample> scrape(const Probe& probe) {
  std::string text;
  metrics::TextWriter writer(text);
  probe.write(writer);
  return metrics::parse_text(text);
}

}  // namespace

TEST_CASE("probe: a 2xx answer with Server-Timing publishes the stages", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  Probe probe(f.options(app.url("/identify")), f.log);
  CHECK(scrape(probe).empty());  // nothing before the first run

  auto r = probe.run_once();
  CHECK(r.success);
  CHECK(r.error == "");
  CHECK(r.http_status == 200);
  CHECK(r.duration_seconds > 0);
  CHECK(r.duration_seconds < 60);
  REQUIRE(r.stages.size() == 3);  // both header lines count
  CHECK(r.stages[0].name == "fingerprint");
  CHECK(r.stages[0].seconds == Approx(1.84));
  CHECK(r.stages[1].name == "lookup");
  CHECK(r.stages[2].name == "total");
  CHECK(r.stages[2].seconds == Approx(2.31));

  auto samples = scrape(probe);
  REQUIRE(metrics::find_sample(samples, "afp_probe_success"));
  CHECK(metrics::find_sample(samples, "afp_probe_success")->value == 1);
  CHECK(metrics::find_sample(samples, "afp_probe_duration_seconds")->value ==
        Approx(r.duration_seconds));
  CHECK(metrics::find_sample(samples, "afp_probe_http_status_code")->value == 200);
  auto now = static_cast<double>(std::time(nullptr));
  CHECK(metrics::find_sample(samples, "afp_probe_last_run_timestamp_seconds")->value ==
        Approx(now).margin(600));
  auto stages = metrics::find_samples(samples, "afp_probe_stage_duration_seconds");
  REQUIRE(stages.size() == 3);
  CHECK(metrics::find_sample(samples, "afp_probe_stage_duration_seconds", {{"stage", "lookup"}})
            ->value == Approx(0.041));

  CHECK(app.header("User-Agent") == std::string("afp_exporter-probe/") + afp::kVersion);
  CHECK(app.header("Expect") == "");  // no 100-continue round trip in the duration
  CHECK(app.header("Content-Type").rfind("multipart/form-data; boundary=", 0) == 0);
  CHECK(f.count_lines("info", "probe succeeded") == 1);
}

TEST_CASE("probe: an answer without Server-Timing succeeds with no stages", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  Probe probe(f.options(app.url("/no-timing")), f.log);
  auto r = probe.run_once();
  CHECK(r.success);
  CHECK(r.stages.empty());
  auto samples = scrape(probe);
  CHECK(metrics::find_sample(samples, "afp_probe_success")->value == 1);
  CHECK(metrics::find_samples(samples, "afp_probe_stage_duration_seconds").empty());
}

TEST_CASE("probe: failures publish success 0 and no stages", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  struct Case {
    std::string url;
    long status;
    std::string error;
  };
  std::vector<Case> cases = {
      {app.url("/error"), 500, "HTTP status 500"},
      {app.url("/missing"), 404, "HTTP status 404"},
      {app.url("/malformed"), 200, "malformed Server-Timing header: offset 10: dur is not"},
      {"http://127.0.0.1:" + std::to_string(closed_port()) + "/identify", 0,
       "Couldn't connect to server"},
  };
  for (const auto& c : cases) {
    INFO(c.url);
    Probe probe(f.options(c.url), f.log);
    auto r = probe.run_once();
    CHECK(!r.success);
    CHECK(r.http_status == c.status);
    CHECK_THAT(r.error, Catch::Contains(c.error));
    CHECK(r.stages.empty());
    auto samples = scrape(probe);
    REQUIRE(metrics::find_sample(samples, "afp_probe_success"));
    CHECK(metrics::find_sample(samples, "afp_probe_success")->value == 0);
    CHECK(metrics::find_sample(samples, "afp_probe_http_status_code")->value ==
          static_cast<double>(c.status));
    CHECK(metrics::find_sample(samples, "afp_probe_duration_seconds"));
    CHECK(metrics::find_samples(samples, "afp_probe_stage_duration_seconds").empty());
  }
  CHECK(f.count_lines("warn", "probe failed") == cases.size());
}

TEST_CASE("probe: a slow answer times out", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  auto options = f.options(app.url("/slow"));
  options.timeout = 300ms;
  Probe probe(options, f.log);
  auto r = probe.run_once();
  CHECK(!r.success);
  CHECK_THAT(r.error, Catch::Contains("Timeout was reached"));
  CHECK(r.http_status == 0);
  CHECK(r.duration_seconds >= 0.2);
  CHECK(r.duration_seconds < 30);  // the handler holds the answer for 60 s
}

TEST_CASE("probe: multipart upload carries the file under the form field", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  auto options = f.options(app.url("/capture"));
  options.form_field = "upload";
  options.content_type = "audio/flac";
  Probe probe(options, f.log);
  auto r = probe.run_once();
  REQUIRE(r.success);
  REQUIRE(r.stages.size() == 1);

  auto c = app.captured();
  CHECK(c.body_ok);
  CHECK(c.method == "POST");
  const std::string prefix = "multipart/form-data; boundary=";
  REQUIRE(c.content_type.rfind(prefix, 0) == 0);
  std::string boundary = "--" + c.content_type.substr(prefix.size());
  REQUIRE(c.body.rfind(boundary + "\r\n", 0) == 0);
  auto head_end = c.body.find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  std::string part_head = c.body.substr(0, head_end);
  CHECK_THAT(part_head, Catch::Contains("Content-Disposition: form-data; name=\"upload\"; "
                                        "filename=\"reference.wav\""));
  CHECK_THAT(part_head, Catch::Contains("Content-Type: audio/flac"));
  std::string closing = "\r\n" + boundary + "--\r\n";
  REQUIRE(c.body.size() >= head_end + 4 + closing.size());
  CHECK(c.body.substr(c.body.size() - closing.size()) == closing);
  CHECK(c.body.substr(head_end + 4, c.body.size() - closing.size() - head_end - 4) == f.audio);
}

TEST_CASE("probe: raw-body mode posts the file with its content type", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  auto options = f.options(app.url("/capture"));
  options.form_field = "";
  SECTION("the configured content type") {
    Probe probe(options, f.log);
    CHECK(probe.run_once().success);
    auto c = app.captured();
    CHECK(c.body_ok);
    CHECK(c.method == "POST");
    CHECK(c.content_type == "audio/wav");
    CHECK(c.body == f.audio);
  }
  SECTION("no content type: application/octet-stream, not a form") {
    options.content_type = "";
    Probe probe(options, f.log);
    CHECK(probe.run_once().success);
    CHECK(app.captured().content_type == "application/octet-stream");
    CHECK(app.captured().body == f.audio);
  }
}

TEST_CASE("probe: the same failure again is logged at debug only", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  auto options = f.options(app.url("/error"));
  Probe failing(options, f.log);
  for (int i = 0; i < 3; ++i)
    CHECK(!failing.run_once().success);
  CHECK(f.count_lines("warn", "probe failed") == 1);
  CHECK(f.count_lines("debug", "probe still failing") == 2);
  CHECK_THAT(f.all_lines(), Catch::Contains("err=\"HTTP status 500\""));

  // A new reason is worth a warning again; the timings in curl's message ("after 0 ms")
  // must not make the same refusal look new.
  options.url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/";
  Probe refused(options, f.log);
  refused.run_once();
  refused.run_once();
  CHECK(f.count_lines("warn", "probe failed") == 2);
  CHECK(f.count_lines("debug", "probe still failing") == 3);
}

TEST_CASE("probe: recovery after failures is logged at info", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  auto options = f.options(app.url("/slow"));
  options.timeout = 300ms;
  Probe probe(options, f.log);
  CHECK(!probe.run_once().success);
  app.gate.release();
  CHECK(probe.run_once().success);
  CHECK(f.count_lines("info", "probe recovered") == 1);
  CHECK(f.count_lines("debug", "probe succeeded") == 0);
  CHECK(probe.run_once().success);
  CHECK(f.count_lines("debug", "probe succeeded") == 1);
}

TEST_CASE("probe: the scheduler never overlaps runs", "[pipeline][probe][concurrency]") {
  Fixture f;
  FakeApp app;
  app.slow_ms = 150;  // longer than the interval
  auto options = f.options(app.url("/slow"));
  options.interval = 20ms;
  Probe probe(options, f.log);
  probe.start();
  probe.start();  // a second start is harmless
  CHECK(eventually([&] { return app.requests.load() >= 4; }));
  probe.stop();
  CHECK(app.max_active.load() == 1);
  // stop() aborts the request in flight; the app's handler still finishes its sleep.
  CHECK(eventually([&] { return app.active.load() == 0; }));
  auto last = probe.last_result();
  REQUIRE(last);
  CHECK(last->success);
}

TEST_CASE("probe: the scheduler waits the interval between runs", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  auto options = f.options(app.url("/identify"));
  options.interval = std::chrono::hours(1);
  Probe probe(options, f.log);
  probe.start();
  CHECK(eventually([&] { return probe.last_result().has_value(); }));  // the first is at once
  std::this_thread::sleep_for(300ms);
  probe.stop();
  CHECK(app.requests.load() == 1);
}

TEST_CASE("probe: stop() aborts a request in flight", "[pipeline][probe][concurrency]") {
  Fixture f;
  FakeApp app;
  auto options = f.options(app.url("/slow"));
  options.timeout = 120s;
  Probe probe(options, f.log);
  probe.start();
  REQUIRE(eventually([&] { return app.active.load() == 1; }));
  auto begin = std::chrono::steady_clock::now();
  probe.stop();
  auto took = std::chrono::steady_clock::now() - begin;
  CHECK(took < 20s);            // the server holds the answer for 60 s
  CHECK(!probe.last_result());  // an aborted run is not a failure of the app
  probe.stop();                 // idempotent

  // Still usable on its own after the scheduler stopped (the profile command).
  app.gate.release();
  CHECK(probe.run_once().success);
}

TEST_CASE("probe: the destructor stops the scheduler", "[pipeline][probe][concurrency]") {
  Fixture f;
  FakeApp app;
  auto options = f.options(app.url("/slow"));
  {
    Probe probe(options, f.log);
    probe.start();
    REQUIRE(eventually([&] { return app.active.load() == 1; }));
  }
  SUCCEED("destroyed while a request was in flight");
}

TEST_CASE("probe: configuration errors name the problem", "[pipeline][probe]") {
  Fixture f;
  auto make = [&](ProbeOptions o) { Probe probe(std::move(o), f.log); };
  auto options = f.options("http://127.0.0.1:1/identify");

  SECTION("missing file") {
    options.audio_file = (f.tree.root / "absent.wav").string();
    CHECK_THROWS_WITH(make(options), Catch::Contains(options.audio_file) &&
                                         Catch::Contains("No such file or directory"));
  }
  SECTION("a directory") {
    options.audio_file = f.tree.root.string();
    CHECK_THROWS_WITH(make(options), Catch::Contains("not a regular file"));
  }
  SECTION("an empty file") {
    f.tree.write("empty.wav", "");
    options.audio_file = (f.tree.root / "empty.wav").string();
    CHECK_THROWS_WITH(make(options), Catch::Contains("empty.wav") && Catch::Contains("empty"));
  }
  SECTION("larger than 64 MiB") {
    f.tree.write("huge.wav", "");
    options.audio_file = (f.tree.root / "huge.wav").string();
    std::filesystem::resize_file(options.audio_file, pipeline::kMaxProbeAudioBytes + 1);  // sparse
    CHECK_THROWS_WITH(make(options),
                      Catch::Contains("huge.wav") && Catch::Contains("larger than 64 MiB"));
  }
  SECTION("exactly 64 MiB is accepted") {
    f.tree.write("big.wav", "");
    options.audio_file = (f.tree.root / "big.wav").string();
    std::filesystem::resize_file(options.audio_file, pipeline::kMaxProbeAudioBytes);
    CHECK_NOTHROW(make(options));
  }
  SECTION("URL schemes") {
    for (std::string url : {"ftp://127.0.0.1/x", "127.0.0.1:8080/identify", "", "http://",
                            "file:///etc/passwd", "http://host/with space"}) {
      INFO(url);
      options.url = url;
      CHECK_THROWS_AS(make(options), ProbeError);
    }
    options.url = "HTTPS://example.invalid/identify";
    CHECK_NOTHROW(make(options));
  }
  SECTION("credentials never reach the error") {
    options.url = "ftp://user:secret@host/x?token=hidden";
    CHECK_THROWS_WITH(make(options), !Catch::Contains("secret") && !Catch::Contains("hidden") &&
                                         Catch::Contains("ftp://xxxxx@host/x"));
  }
  SECTION("header injection through the content type") {
    options.content_type = "audio/wav\r\nX-Evil: 1";
    CHECK_THROWS_AS(make(options), ProbeError);
  }
  SECTION("zero interval") {
    options.interval = 0ms;
    CHECK_THROWS_AS(make(options), ProbeError);
  }
}

TEST_CASE("probe: the start line hides credentials in the URL", "[pipeline][probe]") {
  Fixture f;
  FakeApp app;
  auto url = app.url("/identify");
  url.insert(std::strlen("http://"), "user:secret@");
  auto options = f.options(url + "?token=hidden");
  options.interval = std::chrono::hours(1);
  Probe probe(options, f.log);
  probe.start();
  REQUIRE(eventually([&] { return probe.last_result().has_value(); }));
  probe.stop();
  CHECK(probe.last_result()->success);
  auto lines = f.all_lines();
  CHECK_THAT(lines, Catch::Contains("msg=\"probe started\""));
  CHECK_THAT(lines, Catch::Contains("xxxxx@127.0.0.1"));
  CHECK_THAT(lines, !Catch::Contains("secret") && !Catch::Contains("hidden"));
}

TEST_CASE("probe: redact_url hides credentials and the query", "[pipeline][probe]") {
  using pipeline::redact_url;
  CHECK(redact_url("http://app:8000/identify") == "http://app:8000/identify");
  CHECK(redact_url("https://u:p@app/identify") == "https://xxxxx@app/identify");
  CHECK(redact_url("https://u:p@app") == "https://xxxxx@app");
  CHECK(redact_url("http://app/identify?key=secret") == "http://app/identify?xxxxx");
  CHECK(redact_url("http://app?key=a@b") == "http://app?xxxxx");
  CHECK(redact_url("http://app/p#frag") == "http://app/p?xxxxx");
  CHECK(redact_url("http://app/a@b") == "http://app/a@b");  // '@' in the path is no userinfo
  CHECK(redact_url("u:p@app/x") == "xxxxx@app/x");
  CHECK(redact_url("") == "");
}
