// The statsd / DogStatsD line parser and the UDP listener (README, "statsd / DogStatsD over
// UDP").

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "log/logger.h"
#include "metrics/text_parser.h"
#include "metrics/text_writer.h"
#include "pipeline/statsd_listener.h"
#include "pipeline/statsd_parser.h"
#include "pipeline/store.h"

using afp::pipeline::Kind;
using afp::pipeline::Observation;
using afp::pipeline::parse_statsd_datagram;
using afp::pipeline::parse_statsd_line;
using afp::pipeline::Reject;
using afp::pipeline::RejectCounts;
using namespace std::string_literals;

namespace {

std::string reason(std::optional<Reject> r) {
  return r ? std::string(afp::pipeline::reject_name(*r)) : "accepted";
}

std::size_t index(Reject r) {
  return static_cast<std::size_t>(r);
}

struct Valid {
  std::string line;
  Kind kind;
  double value;
  std::uint32_t weight;
  std::vector<std::string> labels;
};

// Every label value must point into the line, which the listener's buffers rely on.
bool labels_inside(const Observation& obs, std::string_view line) {
  const auto& schema = afp::pipeline::label_schema(obs.kind);
  for (std::size_t i = 0; i < schema.count; ++i) {
    const char* p = obs.labels[i].data();
    if (p < line.data() || p + obs.labels[i].size() > line.data() + line.size()) return false;
  }
  return true;
}

const std::vector<std::string>& valid_lines() {
  static const std::vector<std::string> lines{
      "afp.fingerprint_generation:1840|ms",
      "afp.api_request:2310|ms|#endpoint:/identify,method:POST,status:200",
      "afp.db_query:41|ms|@0.5|#operation:lookup",
      "afp.identification:1|c|#result:match",
      "afp.audio_processed:10|c",
      "afp.fingerprint_hashes:4919|c",
      "afp.db_query:0.25|d|#env:prod,operation:insert|@0.25|c:abc|T1656581400",
  };
  return lines;
}

}  // namespace

TEST_CASE("statsd: the README's lines and their variants parse exactly", "[statsd]") {
  const std::vector<Valid> cases{
      {"afp.fingerprint_generation:1840|ms", Kind::FingerprintGeneration, 1.84, 1, {}},
      {"afp.api_request:2310|ms|#endpoint:/identify,method:POST,status:200",
       Kind::ApiRequest,
       2.31,
       1,
       {"/identify", "POST", "200"}},
      {"afp.db_query:41|ms|@0.5|#operation:lookup", Kind::DbQuery, 0.041, 2, {"lookup"}},
      {"afp.identification:1|c|#result:match", Kind::Identification, 1, 1, {"match"}},
      {"afp.audio_processed:10|c", Kind::AudioProcessed, 10, 1, {}},
      {"afp.fingerprint_hashes:4919|c", Kind::FingerprintHashes, 4919, 1, {}},
      // Labels land in schema order whatever the tag order; foreign tags are ignored.
      {"afp.api_request:7|ms|#status:500,env:prod,method:GET,host:a,endpoint:/songs",
       Kind::ApiRequest,
       0.007,
       1,
       {"/songs", "GET", "500"}},
      // DogStatsD histogram and distribution values are seconds.
      {"afp.fingerprint_generation:1.5|h", Kind::FingerprintGeneration, 1.5, 1, {}},
      {"afp.fingerprint_generation:2.25|d", Kind::FingerprintGeneration, 2.25, 1, {}},
      {"afp.fingerprint_generation:+2|d", Kind::FingerprintGeneration, 2, 1, {}},
      {"afp.fingerprint_generation:0|ms", Kind::FingerprintGeneration, 0, 1, {}},
      {"afp.db_query:1e3|ms|#operation:insert", Kind::DbQuery, 1, 1, {"insert"}},
      {"afp.db_query:.5|h|#operation:delete", Kind::DbQuery, 0.5, 1, {"delete"}},
      // Rate and tags in either order; weight is round(1/rate).
      {"afp.db_query:41|ms|#operation:lookup|@0.25", Kind::DbQuery, 0.041, 4, {"lookup"}},
      {"afp.identification:1|c|@0.3|#result:no_match", Kind::Identification, 1, 3, {"no_match"}},
      {"afp.identification:2|c|@0.6|#result:error", Kind::Identification, 2, 2, {"error"}},
      {"afp.identification:1|c|@1|#result:error,canary", Kind::Identification, 1, 1, {"error"}},
      {"afp.audio_processed:10.5|c|@0.001", Kind::AudioProcessed, 10.5, 1000, {}},
      // Counts are whole numbers, however written.
      {"afp.identification:3|c|#result:match", Kind::Identification, 3, 1, {"match"}},
      {"afp.fingerprint_hashes:4.919e3|c", Kind::FingerprintHashes, 4919, 1, {}},
      {"afp.fingerprint_hashes:9007199254740992|c",
       Kind::FingerprintHashes,
       9007199254740992.0,
       1,
       {}},
      // DogStatsD extensions are ignored.
      {"afp.fingerprint_hashes:3|c|#env:prod|c:83c0a99c0a54|T1656581400",
       Kind::FingerprintHashes,
       3,
       1,
       {}},
      {"afp.fingerprint_hashes:3|c|e:it-false,cn-x|c:id", Kind::FingerprintHashes, 3, 1, {}},
      // Empty tag items are skipped; label values are passed on for the Store to judge.
      {"afp.db_query:1|ms|#,,operation:lookup,,", Kind::DbQuery, 0.001, 1, {"lookup"}},
      {"afp.db_query:1|ms|#operation:a:b", Kind::DbQuery, 0.001, 1, {"a:b"}},
      {"afp.api_request:5|ms|#endpoint:/suche/ünïcödé/🎵,method:GET,status:200",
       Kind::ApiRequest,
       0.005,
       1,
       {"/suche/ünïcödé/🎵", "GET", "200"}},
      // Tags a label-less metric does not take, even an empty tag section.
      {"afp.audio_processed:1|c|#", Kind::AudioProcessed, 1, 1, {}},
      {"afp.fingerprint_generation:1|ms|#operation:lookup",
       Kind::FingerprintGeneration,
       0.001,
       1,
       {}},
  };
  for (const auto& c : cases) {
    INFO(c.line);
    Observation obs;
    obs.weight = 99;
    auto r = parse_statsd_line(c.line, obs);
    REQUIRE(reason(r) == "accepted");
    CHECK(obs.kind == c.kind);
    CHECK(obs.value == c.value);
    CHECK(obs.weight == c.weight);
    const auto& schema = afp::pipeline::label_schema(obs.kind);
    REQUIRE(schema.count == c.labels.size());
    for (std::size_t i = 0; i < schema.count; ++i)
      CHECK(obs.labels[i] == c.labels[i]);
    for (std::size_t i = schema.count; i < obs.labels.size(); ++i)
      CHECK(obs.labels[i].empty());
    CHECK(labels_inside(obs, c.line));
  }
}

TEST_CASE("statsd: refusals name the first fault", "[statsd]") {
  const std::vector<std::pair<std::string, Reject>> cases{
      // Shape.
      {"", Reject::Malformed},
      {"afp.db_query", Reject::Malformed},
      {"afp.db_query:1", Reject::Malformed},
      {"afp.db_query|ms", Reject::Malformed},
      {"afp.db_query:1|", Reject::Malformed},
      {"afp.db_query:1||#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|", Reject::Malformed},
      {"afp.db_query:1|ms||#operation:lookup", Reject::Malformed},
      {"|||", Reject::Malformed},
      {"::", Reject::Malformed},
      {":|", Reject::Malformed},
      {"afp.db_query:1|ms|#operation:lookup|#operation:insert", Reject::Malformed},
      {"afp.db_query:1|ms|@0.5|@0.5|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|x:y|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|c|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|T|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|T12a|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms| @0.5|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|#operation:look\0up"s, Reject::Malformed},
      {"\0afp.db_query:1|ms|#operation:lookup"s, Reject::Malformed},
      {"afp.db_query:1|ms|#operation:look\tup", Reject::Malformed},
      {"afp.db_query:1|ms|#operation:lookup\r", Reject::Malformed},
      {"afp.db_query:1|ms|#operation:lookup\n", Reject::Malformed},
      {"afp.db_query:1|ms|#operation:lo\x7fup", Reject::Malformed},
      // Bad sample rates.
      {"afp.db_query:1|ms|@0", Reject::Malformed},
      {"afp.db_query:1|ms|@0|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|@1.5|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|@-0.5|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|@|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|@abc|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|@nan|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|@inf|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|@1e-12|#operation:lookup", Reject::Malformed},
      {"afp.db_query:1|ms|@4.9e-324|#operation:lookup", Reject::Malformed},
      // Duplicate labels and values that are not UTF-8.
      {"afp.db_query:1|ms|#operation:lookup,operation:insert", Reject::Malformed},
      {"afp.db_query:1|ms|#operation:\xff", Reject::Malformed},
      {"afp.db_query:1|ms|#operation:\xc0\xaf", Reject::Malformed},          // overlong '/'
      {"afp.db_query:1|ms|#operation:\xed\xa0\x80", Reject::Malformed},      // surrogate
      {"afp.db_query:1|ms|#operation:\xf4\x90\x80\x80", Reject::Malformed},  // > U+10FFFF
      {"afp.db_query:1|ms|#operation:\xe2\x82", Reject::Malformed},          // cut short
      // Names.
      {"foo:1|c", Reject::UnknownMetric},
      {"afp.unknown:1|c", Reject::UnknownMetric},
      {"afp.:1|c", Reject::UnknownMetric},
      {":1|c", Reject::UnknownMetric},
      {"AFP.db_query:1|ms|#operation:lookup", Reject::UnknownMetric},
      {"afp.db_query_duration_seconds:1|ms|#operation:lookup", Reject::UnknownMetric},
      {"db_query:1|ms|#operation:lookup", Reject::UnknownMetric},
      {"afp.db_query :1|ms|#operation:lookup", Reject::UnknownMetric},
      {"afp.afp.db_query:1|ms|#operation:lookup", Reject::UnknownMetric},
      {"foo:bar|g", Reject::UnknownMetric},
      // Types.
      {"afp.db_query:1|c|#operation:lookup", Reject::UnsupportedType},
      {"afp.fingerprint_generation:1|c", Reject::UnsupportedType},
      {"afp.identification:1|ms|#result:match", Reject::UnsupportedType},
      {"afp.audio_processed:1|h", Reject::UnsupportedType},
      {"afp.fingerprint_hashes:1|d", Reject::UnsupportedType},
      {"afp.fingerprint_hashes:1|g", Reject::UnsupportedType},
      {"afp.fingerprint_generation:1|g", Reject::UnsupportedType},
      {"afp.fingerprint_generation:1|s", Reject::UnsupportedType},
      {"afp.fingerprint_generation:1|MS", Reject::UnsupportedType},
      {"afp.fingerprint_generation:1|ms ", Reject::UnsupportedType},
      {"afp.fingerprint_generation:1|zz", Reject::UnsupportedType},
      {"afp.db_query:-1|g|@0", Reject::UnsupportedType},
      // Values.
      {"afp.fingerprint_generation:-1|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:-0|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:nan|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:NaN|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:inf|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:+inf|d", Reject::InvalidValue},
      {"afp.fingerprint_generation:-inf|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:infinity|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:1e999|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:0x10|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:0x1p3|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation: 1|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:1 |ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:1:2:3|d", Reject::InvalidValue},
      {"afp.fingerprint_generation:++1|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:+-1|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:1e|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:.|ms", Reject::InvalidValue},
      {"afp.fingerprint_generation:1,5|ms", Reject::InvalidValue},
      {"afp.db_query:-1|ms|@0", Reject::InvalidValue},
      {"afp.audio_processed:1e305|c|@0.000001", Reject::InvalidValue},  // value x weight = inf
      {"afp.identification:0.5|c|#result:match", Reject::InvalidValue},
      {"afp.fingerprint_hashes:1.5|c", Reject::InvalidValue},
      {"afp.fingerprint_hashes:1e16|c", Reject::InvalidValue},
      // Labels.
      {"afp.db_query:1|ms", Reject::MissingLabel},
      {"afp.db_query:1|ms|#", Reject::MissingLabel},
      {"afp.db_query:1|ms|#op:lookup", Reject::MissingLabel},
      {"afp.db_query:1|ms|#Operation:lookup", Reject::MissingLabel},
      {"afp.db_query:1|ms|#operation", Reject::MissingLabel},
      {"afp.db_query:1|ms|#operation:", Reject::MissingLabel},
      {"afp.api_request:1|ms|#endpoint:/x,method:GET", Reject::MissingLabel},
      {"afp.identification:1|c|#", Reject::MissingLabel},
      {"afp.identification:1|c|#env:prod|c:abc", Reject::MissingLabel},
  };
  for (const auto& [line, want] : cases) {
    INFO(line);
    Observation obs;
    CHECK(reason(parse_statsd_line(line, obs)) == reason(want));
  }
}

TEST_CASE("statsd: lines longer than 8 KiB are malformed", "[statsd]") {
  std::string tag_base = "afp.db_query:1|ms|#operation:lookup,pad:";
  std::string fits = tag_base + std::string(afp::pipeline::kMaxStatsdLine - tag_base.size(), 'x');
  Observation obs;
  CHECK(reason(parse_statsd_line(fits, obs)) == "accepted");
  CHECK(reason(parse_statsd_line(fits + "x", obs)) == "malformed");
  CHECK(reason(parse_statsd_line(tag_base + std::string(64 * 1024, 'x'), obs)) == "malformed");
  CHECK(reason(parse_statsd_line(std::string(64 * 1024, ':'), obs)) == "malformed");
  CHECK(reason(parse_statsd_line(std::string(64 * 1024, '|'), obs)) == "malformed");
}

TEST_CASE("statsd: every prefix of a valid line parses or is refused", "[statsd]") {
  for (const auto& line : valid_lines()) {
    for (std::size_t n = 0; n <= line.size(); ++n) {
      // A copy of exactly n bytes, so reading past the prefix is an ASan/valgrind error.
      std::string prefix = line.substr(0, n);
      INFO(prefix);
      Observation obs;
      if (!parse_statsd_line(prefix, obs)) CHECK(labels_inside(obs, prefix));
    }
  }
}

TEST_CASE("statsd: mutated lines never yield a bad observation", "[statsd]") {
  std::mt19937 rng(20240601);
  const std::string alphabet = "afp.:|@#,c0123456789eE+-.\xff\xc3\xa9 \r\n\0Tmsdhg"s;
  std::uniform_int_distribution<std::size_t> pick_char(0, alphabet.size() - 1);
  for (const auto& line : valid_lines()) {
    for (int round = 0; round < 2000; ++round) {
      std::string m = line;
      std::uniform_int_distribution<int> edits(1, 4);
      for (int e = edits(rng); e > 0; --e) {
        std::uniform_int_distribution<std::size_t> pos(0, m.size());
        std::size_t at = pos(rng);
        switch (rng() % 3) {
          case 0:
            m.insert(at, 1, alphabet[pick_char(rng)]);
            break;
          case 1:
            if (at < m.size()) m.erase(at, 1);
            break;
          default:
            if (at < m.size()) m[at] = alphabet[pick_char(rng)];
        }
      }
      INFO(m);
      Observation obs;
      if (parse_statsd_line(m, obs)) continue;
      CHECK(std::isfinite(obs.value));
      CHECK(obs.value >= 0);
      CHECK(obs.weight >= 1);
      CHECK(labels_inside(obs, m));
      const auto& schema = afp::pipeline::label_schema(obs.kind);
      for (std::size_t i = 0; i < schema.count; ++i)
        CHECK_FALSE(obs.labels[i].empty());
    }
  }
}

TEST_CASE("statsd: a datagram is split into lines", "[statsd]") {
  std::vector<Observation> out;
  RejectCounts rejected{};

  SECTION("LF, CRLF, empty and blank lines") {
    std::string d =
        "\n\r\nafp.audio_processed:10|c\r\nafp.fingerprint_hashes:4919|c\n\n"
        "afp.db_query:41|ms|#operation:lookup\r\n\r\n";
    CHECK(parse_statsd_datagram(d, out, rejected) == 3);
    REQUIRE(out.size() == 3);
    CHECK(out[0].kind == Kind::AudioProcessed);
    CHECK(out[1].value == 4919);
    CHECK(out[2].labels[0] == "lookup");  // the '\r' is not part of the value
    CHECK(rejected == RejectCounts{});
  }
  SECTION("a last line without terminator, refusals counted by reason") {
    std::string d =
        "afp.identification:1|c|#result:match\n"
        "bogus\n"
        "afp.identification:1|g|#result:match\n"
        "afp.unknown:1|c\n"
        "afp.db_query:-1|ms|#operation:lookup\n"
        "afp.db_query:1|ms\n"
        "afp.db_query:1|ms|@0|#operation:lookup\r\r\n"
        "afp.identification:1|c|#result:no_match";
    CHECK(parse_statsd_datagram(d, out, rejected) == 2);
    REQUIRE(out.size() == 2);
    CHECK(out[1].labels[0] == "no_match");
    CHECK(rejected[index(Reject::Malformed)] == 2);
    CHECK(rejected[index(Reject::UnsupportedType)] == 1);
    CHECK(rejected[index(Reject::UnknownMetric)] == 1);
    CHECK(rejected[index(Reject::InvalidValue)] == 1);
    CHECK(rejected[index(Reject::MissingLabel)] == 1);
  }
  SECTION("appends to what is already there") {
    out.resize(5);
    CHECK(parse_statsd_datagram("afp.audio_processed:1|c", out, rejected) == 1);
    CHECK(out.size() == 6);
  }
  SECTION("many lines per datagram, each line standing alone") {
    std::string d;
    for (int i = 0; i < 1000; ++i) {
      d += "afp.db_query:" + std::to_string(i) + "|ms|#operation:lookup\n";
      if (i % 10 == 0) d += "afp.db_query:x|ms|#operation:lookup\n";
    }
    CHECK(parse_statsd_datagram(d, out, rejected) == 1000);
    CHECK(out[999].value == 0.999);
    CHECK(rejected[index(Reject::InvalidValue)] == 100);
  }
  SECTION("hostile datagrams") {
    CHECK(parse_statsd_datagram("", out, rejected) == 0);
    CHECK(parse_statsd_datagram("\n\n\r\n\n", out, rejected) == 0);
    CHECK(rejected == RejectCounts{});
    CHECK(parse_statsd_datagram("\r", out, rejected) == 0);  // "\r" alone is an empty line
    CHECK(rejected == RejectCounts{});
    CHECK(parse_statsd_datagram(std::string(64 * 1024, '\0'), out, rejected) == 0);
    CHECK(rejected[index(Reject::Malformed)] == 1);
    CHECK(parse_statsd_datagram("a\rb\n::\n|||", out, rejected) == 0);
    CHECK(rejected[index(Reject::Malformed)] == 4);
    CHECK(out.empty());
  }
}

namespace {

using afp::pipeline::StatsdListener;
using afp::pipeline::StatsdListenerError;
using afp::pipeline::Store;
using Clock = std::chrono::steady_clock;

// Log lines kept for assertions; the listener logs from its own thread.
struct CapturedLog {
  std::mutex mutex;
  std::vector<std::string> lines;
  afp::log::Logger log{afp::log::Level::debug, afp::log::Format::logfmt,
                       [this](std::string_view line) {
                         std::lock_guard lock(mutex);
                         lines.emplace_back(line);
                       }};
  bool contains(std::string_view text) {
    std::lock_guard lock(mutex);
    for (const auto& l : lines) {
      if (l.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

class UdpSender {
 public:
  explicit UdpSender(int port) : fd_(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) {
    REQUIRE(fd_ >= 0);
    to_.sin_family = AF_INET;
    to_.sin_port = htons(static_cast<std::uint16_t>(port));
    to_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  }
  ~UdpSender() { ::close(fd_); }
  UdpSender(const UdpSender&) = delete;
  UdpSender& operator=(const UdpSender&) = delete;

  bool try_send(std::string_view datagram) {
    auto n = ::sendto(fd_, datagram.data(), datagram.size(), 0,
                      reinterpret_cast<const sockaddr*>(&to_), sizeof to_);
    return n == static_cast<ssize_t>(datagram.size());
  }
  void send(std::string_view datagram) { REQUIRE(try_send(datagram)); }

 private:
  int fd_;
  sockaddr_in to_{};
};

std::vector<afp::metrics::Sample> scrape(const Store& store) {
  std::string text;
  afp::metrics::TextWriter writer(text);
  store.write(writer);
  return afp::metrics::parse_text(text);
}

double value_of(const std::vector<afp::metrics::Sample>& samples, std::string_view name,
                afp::metrics::LabelMatch labels = {}) {
  const auto* s = afp::metrics::find_sample(samples, name, labels);
  return s ? s->value : -1;
}

// Lines the Store has counted for statsd, accepted or refused for any reason.
double statsd_total(const Store& store) {
  auto samples = scrape(store);
  double total = value_of(samples, "afp_ingest_observations_total", {{"transport", "statsd"}});
  for (const auto* s :
       afp::metrics::find_samples(samples, "afp_ingest_rejected_total", {{"transport", "statsd"}}))
    total += s->value;
  return total;
}

double rejected(const Store& store, std::string_view reason) {
  return value_of(scrape(store), "afp_ingest_rejected_total",
                  {{"transport", "statsd"}, {"reason", reason}});
}

// Polls until the condition holds; false after `limit`. The limit only turns a hang into a
// failure: nothing depends on how fast the listener is.
bool wait_until(const std::function<bool()>& done,
                std::chrono::milliseconds limit = std::chrono::seconds(60)) {
  auto deadline = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// A UDP port bound for the life of the object.
struct BusyPort {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int port = 0;
  BusyPort() {
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0);
    socklen_t len = sizeof sa;
    REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
    port = ntohs(sa.sin_port);
  }
  ~BusyPort() { ::close(fd); }
};

}  // namespace

TEST_CASE("statsd listener: every line is counted, histograms exactly",
          "[statsd][listener][concurrency]") {
  Store store;
  CapturedLog captured;
  StatsdListener listener("127.0.0.1:0", store, captured.log);
  listener.start();
  REQUIRE(listener.port() > 0);
  CHECK(captured.contains("statsd listener started"));
  UdpSender sender(listener.port());

  constexpr int kDatagrams = 500;
  double lines = 0;
  double lookup_sum = 0;
  double lookup_count = 0;
  double generation_count = 0;
  double matches = 0;
  for (int i = 0; i < kDatagrams; ++i) {
    switch (i % 5) {
      case 0: {  // multiples of 250 ms are exact in binary, so the sum is exact too
        int ms = 250 * (i % 4 + 1);
        sender.send("afp.db_query:" + std::to_string(ms) + "|ms|#operation:lookup");
        lookup_sum += ms / 1000.0;
        lookup_count += 1;
        lines += 1;
        break;
      }
      case 1:
        sender.send("afp.fingerprint_generation:250|ms|@0.5\n");
        generation_count += 2;
        lines += 1;
        break;
      case 2:
        sender.send("bogus line");
        lines += 1;
        break;
      case 3:
        sender.send("afp.identification:1|c|#result:match\r\n\nafp.db_query:1|g|#operation:lookup");
        matches += 1;
        lines += 2;
        break;
      default:
        sender.send("afp.db_query:2|ms|#operation:nope");  // refused by the Store
        lines += 1;
    }
    // Waiting now and then keeps the socket buffer from overflowing whatever its size.
    if (i % 50 == 49) REQUIRE(wait_until([&] { return statsd_total(store) == lines; }));
  }
  sender.send(std::string(afp::pipeline::kStatsdDatagramBytes + 1, 'x'));  // truncated
  lines += 1;
  REQUIRE(wait_until([&] { return statsd_total(store) == lines; }));

  auto samples = scrape(store);
  CHECK(value_of(samples, "afp_db_query_duration_seconds_count", {{"operation", "lookup"}}) ==
        lookup_count);
  CHECK(value_of(samples, "afp_db_query_duration_seconds_sum", {{"operation", "lookup"}}) ==
        lookup_sum);
  CHECK(value_of(samples, "afp_fingerprint_generation_seconds_count") == generation_count);
  CHECK(value_of(samples, "afp_fingerprint_generation_seconds_sum") == 0.25 * generation_count);
  CHECK(value_of(samples, "afp_fingerprint_generation_seconds_bucket", {{"le", "0.1"}}) == 0);
  CHECK(value_of(samples, "afp_fingerprint_generation_seconds_bucket", {{"le", "0.25"}}) ==
        generation_count);
  CHECK(value_of(samples, "afp_identifications_total", {{"result", "match"}}) == matches);
  CHECK(value_of(samples, "afp_ingest_observations_total", {{"transport", "statsd"}}) ==
        lookup_count + kDatagrams / 5 + matches);
  CHECK(rejected(store, "malformed") == kDatagrams / 5 + 1);
  CHECK(rejected(store, "unsupported_type") == kDatagrams / 5);
  CHECK(rejected(store, "invalid_value") == kDatagrams / 5);
  CHECK(rejected(store, "dropped") == 0);
  CHECK(value_of(samples, "afp_ingest_observations_total", {{"transport", "http"}}) == 0);
  listener.stop();
}

TEST_CASE("statsd listener: datagrams the kernel drops are counted", "[statsd][listener]") {
  Store store;
  CapturedLog captured;
  // The smallest receive buffer the kernel allows, so a burst overflows it.
  StatsdListener listener("127.0.0.1:0", store, captured.log, 1);
  listener.start();
  CHECK_FALSE(captured.contains("statsd receive buffer smaller than asked"));
  UdpSender sender(listener.port());
  constexpr int kBurst = 20000;
  int failed = 0;
  for (int i = 0; i < kBurst; ++i)
    failed += sender.try_send("afp.fingerprint_hashes:1|c") ? 0 : 1;
  REQUIRE(failed == 0);
  // The kernel reports drops with the next datagram it delivers, so send markers until every
  // datagram sent is accounted for, accepted or dropped.
  double sent = kBurst;
  bool accounted = wait_until(
      [&] {
        sender.send("afp.audio_processed:1|c");
        sent += 1;
        return wait_until([&] { return statsd_total(store) == sent; },
                          std::chrono::milliseconds(300));
      },
      std::chrono::seconds(120));
  REQUIRE(accounted);
  auto samples = scrape(store);
  double hashes = value_of(samples, "afp_fingerprint_hashes_total");
  double markers = value_of(samples, "afp_audio_processed_seconds_total");
  double dropped = rejected(store, "dropped");
  INFO("dropped " << dropped << " of " << sent);
  CHECK(hashes + markers + dropped == sent);
  CHECK(markers >= 1);
  if (dropped > 0) {
    CHECK(captured.contains("statsd datagrams dropped"));
  } else {
    WARN("the kernel dropped nothing: the drop path was not exercised");
  }
}

TEST_CASE("statsd listener: binding a busy port fails clearly", "[statsd][listener]") {
  Store store;
  CapturedLog captured;
  BusyPort busy;
  std::string address = "127.0.0.1:" + std::to_string(busy.port);
  StatsdListener listener(address, store, captured.log);
  try {
    listener.start();
    FAIL("start() bound a busy port");
  } catch (const StatsdListenerError& e) {
    std::string what = e.what();
    CHECK(what.find("\"" + address + "\"") != std::string::npos);
    CHECK(what.find("address already in use (another process holds the port: stop it, or choose "
                    "another port with --statsd.listen-address)") != std::string::npos);
  }
  listener.stop();  // harmless after a failed start
}

TEST_CASE("statsd listener: bad addresses are refused before binding", "[statsd][listener]") {
  Store store;
  CapturedLog captured;
  for (std::string address : {"9125", "127.0.0.1:99999", "127.0.0.1:x", "[::1]:9125"}) {
    INFO(address);
    StatsdListener listener(address, store, captured.log);
    CHECK_THROWS_AS(listener.start(), StatsdListenerError);
    CHECK(listener.port() == 0);
  }
}

TEST_CASE("statsd listener: stop() returns while idle and frees the port", "[statsd][listener]") {
  Store store;
  CapturedLog captured;
  int port = 0;
  {
    StatsdListener listener(":0", store, captured.log);
    listener.start();
    port = listener.port();
    CHECK_THROWS_AS(listener.start(), std::logic_error);
    auto before = Clock::now();
    listener.stop();
    // Generous: only a stop that waits for traffic (or a poll timeout) would come near it.
    CHECK(Clock::now() - before < std::chrono::seconds(5));
    listener.stop();
  }
  StatsdListener again("127.0.0.1:" + std::to_string(port), store, captured.log);
  again.start();
  CHECK(again.port() == port);
  UdpSender sender(port);
  sender.send("afp.fingerprint_hashes:7|c");
  REQUIRE(wait_until([&] { return statsd_total(store) == 1; }));
  CHECK(value_of(scrape(store), "afp_fingerprint_hashes_total") == 7);
  // The destructor stops it.
}
