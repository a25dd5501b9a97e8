// The load generator of bench/ingest: pushes observations to a running exporter as fast
// as it takes them (HTTP) or at a fixed rate (statsd), and prints what it sent as
// "key value" lines for the script to check against the exporter's counters.
//
//   ingest_load http   --port=P [--host=127.0.0.1] [--connections=4] [--seconds=10]
//                      [--token=T] [--items=1000]
//   ingest_load statsd --port=P [--host=127.0.0.1] [--rate=100000] [--seconds=10]
//                      [--datagram-bytes=1400] [--slice-us=1000]
//
// http: every connection is a keep-alive socket on its own thread POSTing the same
// pre-built body (--items observations in the README's example mix, formatted as Python's
// json.dumps writes it, with a few dozen api_request label sets) back to back until the
// time is up; the request in flight then is finished, so every request sent has an answer.
// The client reads only the status line, Content-Length and the body it announces.
// Prints the body's make-up (per kind, and the sums the two value counters get), so the
// caller can predict every series of the exporter from the count of 200 answers.
//
// statsd: one UDP socket, datagrams of a fixed number of lines (as many of the longest
// line as fit in --datagram-bytes), sent with sendmmsg in time slices of --slice-us so the
// rate holds within a slice; total lines = datagrams x lines per datagram.

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "ingest_load: %s\n", message.c_str());
  std::exit(2);
}

// --name=value flags; every flag must be one the mode knows.
class Flags {
 public:
  Flags(int argc, char** argv, int first) {
    for (int i = first; i < argc; ++i) {
      std::string_view arg = argv[i];
      auto eq = arg.find('=');
      if (!arg.starts_with("--") || eq == std::string_view::npos) {
        die("expected --name=value, got \"" + std::string(arg) + "\"");
      }
      values_[std::string(arg.substr(2, eq - 2))] = std::string(arg.substr(eq + 1));
    }
  }
  std::string text(const std::string& name, std::string fallback) {
    known_.push_back(name);
    auto it = values_.find(name);
    return it == values_.end() ? fallback : it->second;
  }
  double number(const std::string& name, double fallback) {
    auto value = text(name, "");
    if (value.empty()) return fallback;
    char* end = nullptr;
    double n = std::strtod(value.c_str(), &end);
    if (*end != '\0' || !(n > 0)) die("--" + name + " must be a number > 0");
    return n;
  }
  void check_all_known() const {
    for (const auto& [name, value] : values_) {
      if (std::find(known_.begin(), known_.end(), name) == known_.end()) {
        die("unknown flag --" + name);
      }
    }
  }

 private:
  std::map<std::string, std::string> values_;
  std::vector<std::string> known_;
};

sockaddr_in resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  addrinfo* result = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &result) != 0 || result == nullptr) {
    die("cannot resolve " + host);
  }
  sockaddr_in sa = *reinterpret_cast<sockaddr_in*>(result->ai_addr);
  freeaddrinfo(result);
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  return sa;
}

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto s = [](const timeval& tv) {
    return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
  };
  return s(ru.ru_utime) + s(ru.ru_stime);
}

// Shortest round-trip form, as Python's repr(float) writes it ("2.0", not "2").
std::string py_float(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, res.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string fixed3(double v) {
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, 3);
  return {buf, res.ptr};
}

// ---- what the app reports ----------------------------------------------------------------

struct ApiLabels {
  const char* endpoint;
  const char* method;
  const char* status;
};

// Route templates of a fingerprinting API with the answers each gives: 36 label sets,
// the common ones listed more than once so they come up more often.
constexpr ApiLabels kApiLabels[] = {
    {"/identify", "POST", "200"},
    {"/identify", "POST", "200"},
    {"/identify", "POST", "200"},
    {"/identify", "POST", "200"},
    {"/identify", "POST", "400"},
    {"/identify", "POST", "413"},
    {"/identify", "POST", "415"},
    {"/identify", "POST", "422"},
    {"/identify", "POST", "429"},
    {"/identify", "POST", "500"},
    {"/identify", "POST", "503"},
    {"/identify", "POST", "504"},
    {"/fingerprint", "POST", "200"},
    {"/fingerprint", "POST", "200"},
    {"/fingerprint", "POST", "201"},
    {"/fingerprint", "POST", "400"},
    {"/fingerprint", "POST", "409"},
    {"/fingerprint", "POST", "422"},
    {"/fingerprint", "POST", "500"},
    {"/songs", "GET", "200"},
    {"/songs", "GET", "400"},
    {"/songs", "POST", "201"},
    {"/songs", "POST", "409"},
    {"/songs", "POST", "422"},
    {"/songs/{song_id}", "GET", "200"},
    {"/songs/{song_id}", "GET", "200"},
    {"/songs/{song_id}", "GET", "404"},
    {"/songs/{song_id}", "DELETE", "204"},
    {"/songs/{song_id}", "DELETE", "404"},
    {"/songs/{song_id}/fingerprints", "GET", "200"},
    {"/songs/{song_id}/fingerprints", "GET", "404"},
    {"/stats", "GET", "200"},
    {"/health", "GET", "200"},
    {"/health", "GET", "503"},
    {"/docs", "GET", "200"},
    {"/openapi.json", "GET", "200"},
    {"unmatched", "GET", "404"},
    {"unmatched", "POST", "405"},
    {"/identify", "OPTIONS", "200"},
    {"/fingerprint", "OPTIONS", "200"},
    {"/songs", "HEAD", "200"},
};
constexpr const char* kOperations[] = {"lookup", "lookup", "lookup", "insert", "delete", "other"};
constexpr const char* kResults[] = {"match", "match", "no_match", "error"};

enum Kind { kGeneration, kApi, kDb, kIdentification, kAudio, kHashes, kKinds };
constexpr const char* kKindNames[kKinds] = {
    "fingerprint_generation", "api_request",     "db_query",
    "identification",         "audio_processed", "fingerprint_hashes"};

// One identify request makes an api_request, a fingerprint generation, a few look-ups, an
// identification, its audio seconds and its hash count; other requests only the first.
Kind pick_kind(std::mt19937_64& rng) {
  constexpr int kWeights[kKinds] = {10, 30, 30, 10, 10, 10};
  int r = static_cast<int>(rng() % 100);
  for (int k = 0; k < kKinds; ++k) {
    if (r < kWeights[k]) return static_cast<Kind>(k);
    r -= kWeights[k];
  }
  return kHashes;
}

// Log-uniform between lo and hi seconds: durations spread over the buckets.
double duration(std::mt19937_64& rng, double lo, double hi) {
  std::uniform_real_distribution<double> u(std::log(lo), std::log(hi));
  return std::exp(u(rng));
}

struct Observation {
  Kind kind;
  double seconds = 0;           // histograms; audio seconds (a multiple of 0.25: sums stay exact)
  std::int64_t count = 0;       // fingerprint_hashes
  const char* label = nullptr;  // operation or result
  const ApiLabels* api = nullptr;
};

Observation make_observation(std::mt19937_64& rng) {
  Observation o{pick_kind(rng)};
  switch (o.kind) {
    case kGeneration:
      o.seconds = duration(rng, 0.2, 12);
      break;
    case kApi:
      o.api = &kApiLabels[rng() % std::size(kApiLabels)];
      o.seconds = duration(rng, 0.002, 20);
      break;
    case kDb:
      o.label = kOperations[rng() % std::size(kOperations)];
      o.seconds = duration(rng, 0.0005, 2);
      break;
    case kIdentification:
      o.label = kResults[rng() % std::size(kResults)];
      break;
    case kAudio:
      o.seconds = static_cast<double>(rng() % 240 + 20) * 0.25;  // 5 to 64.75 s of audio
      break;
    default:
      o.count = static_cast<std::int64_t>(rng() % 20000 + 500);
      break;
  }
  return o;
}

// What a body or a run of lines holds, to predict the exporter's series.
struct Mix {
  std::int64_t per_kind[kKinds] = {};
  double audio_seconds = 0;
  std::int64_t hashes = 0;
  void add(const Observation& o) {
    ++per_kind[o.kind];
    if (o.kind == kAudio) audio_seconds += o.seconds;
    if (o.kind == kHashes) hashes += o.count;
  }
  void print(const char* prefix) const {
    for (int k = 0; k < kKinds; ++k)
      std::printf("%s_%s %lld\n", prefix, kKindNames[k], static_cast<long long>(per_kind[k]));
    std::printf("%s_audio_seconds %s\n", prefix, py_float(audio_seconds).c_str());
    std::printf("%s_hashes %lld\n", prefix, static_cast<long long>(hashes));
  }
};

// The JSON of one observation, key order and separators as Python's json.dumps.
std::string json_item(const Observation& o) {
  std::string s = "{\"metric\": \"";
  s += kKindNames[o.kind];
  s += '"';
  switch (o.kind) {
    case kGeneration:
    case kAudio:
      s += ", \"seconds\": " + py_float(o.seconds) + "}";
      break;
    case kApi:
      s += ", \"seconds\": " + py_float(o.seconds) + ", \"labels\": {\"endpoint\": \"" +
           o.api->endpoint + "\", \"method\": \"" + o.api->method + "\", \"status\": \"" +
           o.api->status + "\"}}";
      break;
    case kDb:
      s += ", \"seconds\": " + py_float(o.seconds) + ", \"labels\": {\"operation\": \"" + o.label +
           "\"}}";
      break;
    case kIdentification:
      s += ", \"labels\": {\"result\": \"" + std::string(o.label) + "\"}}";
      break;
    default:
      s += ", \"count\": " + std::to_string(o.count) + "}";
      break;
  }
  return s;
}

// The statsd line of one observation (README, "statsd / DogStatsD over UDP"), durations in
// milliseconds.
std::string statsd_line(const Observation& o) {
  std::string s = "afp.";
  s += kKindNames[o.kind];
  s += ':';
  switch (o.kind) {
    case kGeneration:
      return s + fixed3(o.seconds * 1000) + "|ms";
    case kApi:
      return s + fixed3(o.seconds * 1000) + "|ms|#endpoint:" + o.api->endpoint +
             ",method:" + o.api->method + ",status:" + o.api->status;
    case kDb:
      return s + fixed3(o.seconds * 1000) + "|ms|#operation:" + o.label;
    case kIdentification:
      return s + "1|c|#result:" + o.label;
    case kAudio:
      return s + py_float(o.seconds) + "|c";
    default:
      return s + std::to_string(o.count) + "|c";
  }
}

// ---- HTTP ----------------------------------------------------------------------------------

struct ConnectionResult {
  std::int64_t ok = 0;      // 200 with {"accepted":N} for the whole body
  std::int64_t not_ok = 0;  // any other answer
  std::int64_t broken = 0;  // sent, but the connection failed before a whole answer
  std::int64_t reconnects = 0;
  std::map<int, std::int64_t> statuses;  // of the answers that were not 200
  std::string first_error;
};

class Connection {
 public:
  Connection(const sockaddr_in& sa, const std::string& request, std::string accepted)
      : sa_(sa), request_(request), accepted_(std::move(accepted)), buf_(65536) {}
  ~Connection() { close_socket(); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  bool open(ConnectionResult& r) {
    close_socket();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) return fail(r, "socket");
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, reinterpret_cast<const sockaddr*>(&sa_), sizeof sa_) != 0) {
      return fail(r, "connect");
    }
    have_ = 0;
    return true;
  }

  // One request and its answer; false when the connection broke (the caller reopens it).
  bool exchange(ConnectionResult& r) {
    for (std::size_t sent = 0; sent < request_.size();) {
      ssize_t n = ::send(fd_, request_.data() + sent, request_.size() - sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ++r.broken;
        return fail(r, "send");
      }
      sent += static_cast<std::size_t>(n);
    }
    // Status line and headers.
    std::size_t header_end;
    while ((header_end = std::string_view(buf_.data(), have_).find("\r\n\r\n")) ==
           std::string_view::npos) {
      if (!fill(r)) return false;
    }
    std::string_view head(buf_.data(), header_end + 2);
    int status = 0;
    if (head.size() < 12 || !head.starts_with("HTTP/1.1 ") ||
        std::from_chars(head.data() + 9, head.data() + 12, status).ec != std::errc()) {
      ++r.broken;
      errno = 0;
      return fail(r, "bad status line: " + std::string(head.substr(0, head.find('\r'))));
    }
    std::size_t length = 0;
    bool close_after = false;
    for (std::size_t pos = head.find("\r\n") + 2; pos < head.size();) {
      auto eol = head.find("\r\n", pos);
      auto line = head.substr(pos, eol - pos);
      pos = eol + 2;
      auto colon = line.find(':');
      if (colon == std::string_view::npos) continue;
      auto name = line.substr(0, colon);
      auto value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ')
        value.remove_prefix(1);
      if (iequals(name, "content-length")) {
        std::from_chars(value.data(), value.data() + value.size(), length);
      } else if (iequals(name, "connection") && iequals(value, "close")) {
        close_after = true;
      }
    }
    std::size_t total = header_end + 4 + length;
    if (total > buf_.size()) buf_.resize(total);
    while (have_ < total) {
      if (!fill(r)) return false;
    }
    std::string_view body(buf_.data() + header_end + 4, length);
    if (status == 200 && body.find(accepted_) != std::string_view::npos) {
      ++r.ok;
    } else {
      ++r.not_ok;
      ++r.statuses[status];
      if (r.first_error.empty()) {
        r.first_error = std::to_string(status) + " " + std::string(body.substr(0, 200));
      }
    }
    // Keep what followed the answer (nothing, for a client that waits for each answer).
    std::memmove(buf_.data(), buf_.data() + total, have_ - total);
    have_ -= total;
    return !close_after;
  }

 private:
  static bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
             return std::tolower(static_cast<unsigned char>(x)) ==
                    std::tolower(static_cast<unsigned char>(y));
           });
  }

  bool fill(ConnectionResult& r) {
    if (have_ == buf_.size()) buf_.resize(buf_.size() * 2);
    ssize_t n = ::recv(fd_, buf_.data() + have_, buf_.size() - have_, 0);
    if (n < 0 && errno == EINTR) return fill(r);
    if (n <= 0) {
      ++r.broken;
      if (n == 0) errno = 0;
      return fail(r, n == 0 ? "connection closed before the whole answer" : "recv");
    }
    have_ += static_cast<std::size_t>(n);
    return true;
  }

  bool fail(ConnectionResult& r, const std::string& what) {
    if (r.first_error.empty()) {
      r.first_error = what + (errno != 0 ? std::string(": ") + std::strerror(errno) : "");
    }
    close_socket();
    return false;
  }

  void close_socket() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

  sockaddr_in sa_;
  const std::string& request_;
  std::string accepted_;
  std::vector<char> buf_;
  std::size_t have_ = 0;
  int fd_ = -1;
};

int run_http(Flags& flags) {
  auto host = flags.text("host", "127.0.0.1");
  int port = static_cast<int>(flags.number("port", 0));
  int connections = static_cast<int>(flags.number("connections", 4));
  double seconds = flags.number("seconds", 10);
  auto token = flags.text("token", "");
  int items = static_cast<int>(flags.number("items", 1000));
  flags.check_all_known();
  if (port <= 0) die("--port is required");
  sockaddr_in sa = resolve(host, port);

  std::mt19937_64 rng(20240601);
  Mix mix;
  std::string body = "{\"observations\": [";
  for (int i = 0; i < items; ++i) {
    auto o = make_observation(rng);
    mix.add(o);
    if (i) body += ", ";
    body += json_item(o);
  }
  body += "]}";
  std::string request = "POST /api/v1/observations HTTP/1.1\r\nHost: " + host + ":" +
                        std::to_string(port) +
                        "\r\nUser-Agent: ingest_load\r\nContent-Type: application/json\r\n";
  if (!token.empty()) request += "Authorization: Bearer " + token + "\r\n";
  request += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  std::string accepted = "\"accepted\":" + std::to_string(items) + "}";

  std::vector<ConnectionResult> results(static_cast<std::size_t>(connections));
  std::vector<std::unique_ptr<Connection>> conns;
  for (auto& r : results) {
    conns.push_back(std::make_unique<Connection>(sa, request, accepted));
    if (!conns.back()->open(r))
      die("cannot connect to " + host + ":" + std::to_string(port) + ": " + r.first_error);
  }
  double cpu_start = cpu_seconds();
  auto start = Clock::now();
  auto deadline =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < conns.size(); ++c) {
    threads.emplace_back([&, c] {
      auto& r = results[c];
      auto& conn = *conns[c];
      while (Clock::now() < deadline) {
        if (conn.exchange(r)) continue;
        // Broken or closed by the server: a fresh connection, unless it fails repeatedly.
        ++r.reconnects;
        if (r.reconnects > 1000 || !conn.open(r)) break;
      }
    });
  }
  for (auto& t : threads)
    t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = cpu_seconds() - cpu_start;

  ConnectionResult all;
  for (const auto& r : results) {
    all.ok += r.ok;
    all.not_ok += r.not_ok;
    all.broken += r.broken;
    all.reconnects += r.reconnects;
    for (const auto& [status, n] : r.statuses)
      all.statuses[status] += n;
    if (all.first_error.empty()) all.first_error = r.first_error;
  }
  std::printf("mode http\nconnections %d\nseconds %.3f\nitems %d\nbody_bytes %zu\n", connections,
              elapsed, items, body.size());
  std::printf("requests %lld\nrequests_ok %lld\nrequests_not_ok %lld\nrequests_broken %lld\n",
              static_cast<long long>(all.ok + all.not_ok + all.broken),
              static_cast<long long>(all.ok), static_cast<long long>(all.not_ok),
              static_cast<long long>(all.broken));
  for (const auto& [status, n] : all.statuses)
    std::printf("status_%d %lld\n", status, static_cast<long long>(n));
  std::printf("reconnects %lld\n", static_cast<long long>(all.reconnects));
  std::printf("client_cpu_seconds %.3f\n", cpu);
  mix.print("body");
  if (!all.first_error.empty())
    std::fprintf(stderr, "ingest_load: first error: %s\n", all.first_error.c_str());
  return 0;
}

// ---- statsd --------------------------------------------------------------------------------

int run_statsd(Flags& flags) {
  auto host = flags.text("host", "127.0.0.1");
  int port = static_cast<int>(flags.number("port", 0));
  double rate = flags.number("rate", 100000);
  double seconds = flags.number("seconds", 10);
  auto datagram_bytes = static_cast<std::size_t>(flags.number("datagram-bytes", 1400));
  auto slice = std::chrono::microseconds(static_cast<long>(flags.number("slice-us", 1000)));
  flags.check_all_known();
  if (port <= 0) die("--port is required");
  sockaddr_in sa = resolve(host, port);

  // A pool of lines, then datagrams of a fixed number of them.
  std::mt19937_64 rng(20240602);
  std::vector<std::string> lines;
  std::size_t longest = 0;
  for (int i = 0; i < 8192; ++i) {
    lines.push_back(statsd_line(make_observation(rng)));
    longest = std::max(longest, lines.back().size());
  }
  std::size_t per_datagram = (datagram_bytes + 1) / (longest + 1);
  if (per_datagram == 0) die("--datagram-bytes is shorter than a line");
  constexpr std::size_t kDatagrams = 512;
  std::vector<std::string> datagrams(kDatagrams);
  std::size_t biggest = 0;
  for (std::size_t d = 0; d < kDatagrams; ++d) {
    for (std::size_t l = 0; l < per_datagram; ++l) {
      if (l) datagrams[d] += '\n';
      datagrams[d] += lines[(d * per_datagram + l) % lines.size()];
    }
    biggest = std::max(biggest, datagrams[d].size());
  }

  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    die(std::string("udp socket: ") + std::strerror(errno));
  }
  int sndbuf = 4 << 20;
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

  auto total =
      static_cast<std::int64_t>(std::llround(rate * seconds / static_cast<double>(per_datagram)));
  constexpr std::size_t kBurst = 64;
  std::vector<mmsghdr> msgs(kBurst);
  std::vector<iovec> iov(kBurst);
  std::int64_t sent = 0, send_errors = 0, slices = 0, late_slices = 0;
  std::string first_error;
  double cpu_start = cpu_seconds();
  auto start = Clock::now();
  auto next = start;
  while (sent < total) {
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    auto due = std::min<std::int64_t>(
        total, static_cast<std::int64_t>(elapsed * rate / static_cast<double>(per_datagram)));
    while (sent < due) {
      auto n = static_cast<std::size_t>(std::min<std::int64_t>(due - sent, kBurst));
      for (std::size_t i = 0; i < n; ++i) {
        const auto& d =
            datagrams[static_cast<std::size_t>(sent + static_cast<std::int64_t>(i)) % kDatagrams];
        iov[i] = {const_cast<char*>(d.data()), d.size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int got = sendmmsg(fd, msgs.data(), static_cast<unsigned>(n), 0);
      if (got < 0) {
        if (first_error.empty()) first_error = std::strerror(errno);
        if (++send_errors > 10000) die("sendmmsg keeps failing: " + first_error);
        break;  // retried in the next slice
      }
      sent += got;
    }
    if (sent >= total) break;
    ++slices;
    next += slice;
    auto now = Clock::now();
    if (next < now) {
      ++late_slices;  // behind schedule: catch up at once
      next = now;
      continue;
    }
    std::this_thread::sleep_until(next);
  }
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  double cpu = cpu_seconds() - cpu_start;
  ::close(fd);

  std::printf("mode statsd\nrate %.0f\nseconds %.3f\nlines_per_datagram %zu\n", rate, elapsed,
              per_datagram);
  std::printf("largest_datagram_bytes %zu\ndatagrams_sent %lld\nlines_sent %lld\n", biggest,
              static_cast<long long>(sent),
              static_cast<long long>(sent) * static_cast<long long>(per_datagram));
  std::printf("send_errors %lld\nslices %lld\nlate_slices %lld\nclient_cpu_seconds %.3f\n",
              static_cast<long long>(send_errors), static_cast<long long>(slices),
              static_cast<long long>(late_slices), cpu);
  if (!first_error.empty())
    std::fprintf(stderr, "ingest_load: first send error: %s\n", first_error.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view mode = argc > 1 ? argv[1] : "";
  Flags flags(argc, argv, 2);
  if (mode == "http") return run_http(flags);
  if (mode == "statsd") return run_statsd(flags);
  std::fprintf(stderr,
               "usage: ingest_load http --port=P [--host=H] [--connections=4] [--seconds=10] "
               "[--token=T] [--items=1000]\n"
               "       ingest_load statsd --port=P [--host=H] [--rate=100000] [--seconds=10] "
               "[--datagram-bytes=1400] [--slice-us=1000]\n");
  return 2;
}
