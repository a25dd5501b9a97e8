#include "pipeline/probe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string_view>
#include <system_error>

#include "build_info.h"
#include "core/ascii.h"
#include "pipeline/curl.h"
#include "pipeline/server_timing.h"

namespace afp::pipeline {

namespace {

using Clock = std::chrono::steady_clock;

// A hostile or broken app could send megabytes of Server-Timing lines; far beyond any
// useful header (32 entries of 64-byte names with quoted descriptions).
constexpr std::size_t kMaxServerTimingBytes = 64u << 10;

void check_options(const ProbeOptions& o) {
  std::string_view url = o.url;
  std::size_t prefix = core::istarts_with(url, "http://")    ? 7
                       : core::istarts_with(url, "https://") ? 8
                                                             : 0;
  if (prefix == 0 || url.size() == prefix) {
    throw ProbeError("probe URL \"" + redact_url(url) +
                     "\" must be an http:// or https:// URL with a host");
  }
  auto bad_char = [](std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
  };
  if (bad_char(url) || url.find(' ') != std::string_view::npos) {
    throw ProbeError("probe URL \"" + redact_url(url) + "\" contains spaces or control bytes");
  }
  // Both end up in request headers: a newline would inject headers.
  if (bad_char(o.form_field) || bad_char(o.content_type)) {
    throw ProbeError("probe form field and content type must not contain control bytes");
  }
  if (o.interval.count() <= 0 || o.timeout.count() <= 0) {
    throw ProbeError("probe interval and timeout must be positive");
  }
}

[[noreturn]] void throw_file_error(const std::string& path, const std::string& why) {
  throw ProbeError("probe audio file \"" + path + "\": " + why);
}

std::string read_audio(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw_file_error(path, std::generic_category().message(errno));
  std::unique_ptr<int, void (*)(int*)> guard(&fd, [](int* f) { ::close(*f); });
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_file_error(path, std::generic_category().message(errno));
  if (!S_ISREG(st.st_mode)) throw_file_error(path, "not a regular file");
  auto too_large = [&] {
    throw_file_error(path, "larger than " + std::to_string(kMaxProbeAudioBytes >> 20) + " MiB");
  };
  if (static_cast<std::uint64_t>(st.st_size) > kMaxProbeAudioBytes) too_large();
  std::string data;
  data.resize(static_cast<std::size_t>(st.st_size));
  std::size_t used = 0;
  for (;;) {
    // Room beyond the size fstat gave tells a file that grew since (EOF must be seen).
    if (used == data.size()) data.resize(std::min(used + (64u << 10), kMaxProbeAudioBytes + 1));
    ssize_t n = ::read(fd, data.data() + used, data.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_file_error(path, std::generic_category().message(errno));
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
    if (used > kMaxProbeAudioBytes) too_large();
  }
  data.resize(used);
  if (data.empty()) throw_file_error(path, "empty");
  return data;
}

// The state libcurl's callbacks share during one transfer.
struct Transfer {
  const std::string* body = nullptr;
  std::size_t offset = 0;  // multipart reader position
  const std::atomic<bool>* stopping = nullptr;
  std::string server_timing;  // every Server-Timing line of the final answer, ", "-joined
  bool timing_overflow = false;
  bool in_timing = false;  // the last header line was Server-Timing (for obs-fold lines)
  std::array<char, CURL_ERROR_SIZE> error{};

  void append_timing(std::string_view value, std::string_view separator) {
    if (value.empty()) return;
    if (server_timing.empty()) separator = {};
    if (server_timing.size() + separator.size() + value.size() > kMaxServerTimingBytes) {
      timing_overflow = true;
      return;
    }
    server_timing += separator;
    server_timing += value;
  }

  void header_line(std::string_view line) {
    if (line.starts_with("HTTP/")) {  // a new answer (after 1xx): forget the previous
      server_timing.clear();
      timing_overflow = false;
      in_timing = false;
      return;
    }
    if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
      if (in_timing) append_timing(core::trim_space(line), " ");
      return;
    }
    auto colon = line.find(':');
    in_timing = colon == 13 && core::istarts_with(line, "server-timing");
    // Trailers arrive here too, so a Server-Timing trailer counts like a header.
    if (in_timing) append_timing(core::trim_space(line.substr(colon + 1)), ", ");
  }
};

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<Transfer*>(user)->header_line(std::string_view(data, size * n));
  return size * n;
}

std::size_t on_body(char*, std::size_t size, std::size_t n, void*) {
  return size * n;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<Transfer*>(user)->stopping->load() ? 1 : 0;
}

std::size_t read_body(char* buffer, std::size_t size, std::size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::size_t len = std::min(size * n, t->body->size() - t->offset);
  std::memcpy(buffer, t->body->data() + t->offset, len);
  t->offset += len;
  return len;
}

// libcurl rewinds the part when it must send it again (a retried connection).
int seek_body(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || static_cast<std::size_t>(offset) > t->body->size()) {
    return CURL_SEEKFUNC_FAIL;
  }
  t->offset = static_cast<std::size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

// Why a run failed, in a form that repeats exactly when the failure does (curl's error
// buffer carries byte counts and milliseconds): repeats are logged at debug only.
std::string failure_key(CURLcode rc, long status, bool timing) {
  if (rc != CURLE_OK) return "transfer " + std::to_string(rc);
  if (timing) return "server-timing";
  return "status " + std::to_string(status);
}

class Request {
 public:
  Request(const Curl& c, const ProbeOptions& o)
      : c_(c),
        easy_(c.curl_easy_init(), c.curl_easy_cleanup),
        headers_(nullptr, c.curl_slist_free_all),
        mime_(nullptr, c.curl_mime_free) {
    if (!easy_) throw CurlError("curl_easy_init failed");
    // libcurl would wait up to a second for a "100 Continue" some servers never send,
    // inflating every duration.
    add_header("Expect:");
    if (o.form_field.empty()) {
      add_header("Content-Type: " + (o.content_type.empty()
                                         ? std::string("application/octet-stream")
                                         : o.content_type));
    }
  }
  template <typename T>
  void set(CURLoption option, T value) {
    CURLcode rc = c_.curl_easy_setopt(easy_.get(), option, value);
    if (rc != CURLE_OK && setopt_error_ == CURLE_OK) setopt_error_ = rc;
  }

  void multipart(const ProbeOptions& o, Transfer& t) {
    mime_.reset(c_.curl_mime_init(easy_.get()));
    curl_mimepart* part = mime_ ? c_.curl_mime_addpart(mime_.get()) : nullptr;
    if (!part) throw CurlError("curl_mime_addpart failed");
    std::string filename = std::filesystem::path(o.audio_file).filename().string();
    bool ok =
        c_.curl_mime_name(part, o.form_field.c_str()) == CURLE_OK &&
        c_.curl_mime_filename(part, filename.c_str()) == CURLE_OK &&
        (o.content_type.empty() || c_.curl_mime_type(part, o.content_type.c_str()) == CURLE_OK) &&
        c_.curl_mime_data_cb(part, static_cast<curl_off_t>(t.body->size()), read_body, seek_body,
                             nullptr, &t) == CURLE_OK;
    if (!ok) throw CurlError("cannot build the multipart upload");
    set(CURLOPT_MIMEPOST, mime_.get());
  }

  CURLcode perform() {
    set(CURLOPT_HTTPHEADER, headers_.get());
    if (setopt_error_ != CURLE_OK) return setopt_error_;
    return c_.curl_easy_perform(easy_.get());
  }

  long status() const {
    long status = 0;
    if (c_.curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) return 0;
    return status;
  }

 private:
  void add_header(const std::string& line) {
    curl_slist* next = c_.curl_slist_append(headers_.get(), line.c_str());
    if (!next) throw CurlError("curl_slist_append failed");
    headers_.release();  // next is the same list, one entry longer
    headers_.reset(next);
  }

  const Curl& c_;
  // Declared so that the easy handle, which uses the others, is freed last.
  std::unique_ptr<CURL, void (*)(CURL*)> easy_;
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers_;
  std::unique_ptr<curl_mime, void (*)(curl_mime*)> mime_;
  CURLcode setopt_error_ = CURLE_OK;
};

void write_gauge(metrics::TextWriter& out, std::string_view name, std::string_view help,
                 double value) {
  out.family(name, help, metrics::MetricType::Gauge);
  out.sample({}, value);
}

}  // namespace

std::string redact_url(std::string_view url) {
  auto scheme_end = url.find("://");
  std::size_t host = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  auto path = url.find_first_of("/?#", host);
  auto at = url.substr(0, path).rfind('@');
  std::string out(url.substr(0, host));
  if (at != std::string_view::npos && at >= host) {
    out += "xxxxx@";
    host = at + 1;
  }
  auto query = url.find_first_of("?#", host);
  out += url.substr(host, query - host);
  if (query != std::string_view::npos) out += "?xxxxx";
  return out;
}

struct Probe::Outcome {
  ProbeResult result;
  std::string key;       // failure_key(); empty on success
  bool aborted = false;  // stop() cut it short: neither published nor logged as a failure
};

Probe::Probe(ProbeOptions options, log::Logger& log) : options_(std::move(options)), log_(log) {
  check_options(options_);
  audio_ = read_audio(options_.audio_file);
  user_agent_ = std::string("afp_exporter-probe/") + kVersion;
  curl();  // a missing libcurl is a start-up error, not a failure of every run
}

Probe::~Probe() {
  stop();
}

Probe::Outcome Probe::perform() {
  const Curl& c = curl();
  Transfer t;
  t.body = &audio_;
  t.stopping = &stopping_;
  Request req(c, options_);
  req.set(CURLOPT_URL, options_.url.c_str());
  req.set(CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we are multi-threaded
  req.set(CURLOPT_USERAGENT, user_agent_.c_str());
  req.set(CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
  req.set(CURLOPT_ERRORBUFFER, t.error.data());
  req.set(CURLOPT_HEADERFUNCTION, &on_header);
  req.set(CURLOPT_HEADERDATA, &t);
  req.set(CURLOPT_WRITEFUNCTION, &on_body);
  req.set(CURLOPT_NOPROGRESS, 0L);
  req.set(CURLOPT_XFERINFOFUNCTION, &on_progress);
  req.set(CURLOPT_XFERINFODATA, &t);
  if (options_.form_field.empty()) {
    req.set(CURLOPT_POSTFIELDS, audio_.data());  // not copied: audio_ outlives the request
    req.set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(audio_.size()));
  } else {
    req.multipart(options_, t);
  }

  auto begin = Clock::now();
  CURLcode rc = req.perform();
  Outcome out;
  out.result.duration_seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  out.result.http_status = req.status();
  auto fail = [&](std::string error, bool timing) {
    out.result.error = std::move(error);
    out.key = failure_key(rc, out.result.http_status, timing);
    return out;
  };
  if (rc == CURLE_ABORTED_BY_CALLBACK && stopping_.load()) {
    out.aborted = true;
    return fail("probe stopped", false);
  }
  if (rc != CURLE_OK) {
    std::string detail = t.error.data();
    return fail(std::string(c.curl_easy_strerror(rc)) + (detail.empty() ? "" : ": " + detail),
                false);
  }
  if (out.result.http_status < 200 || out.result.http_status > 299) {
    return fail("HTTP status " + std::to_string(out.result.http_status), false);
  }
  if (t.timing_overflow) {
    return fail(
        "Server-Timing header larger than " + std::to_string(kMaxServerTimingBytes >> 10) + " KiB",
        true);
  }
  auto timing = parse_server_timing(t.server_timing);
  if (!timing.ok()) return fail("malformed Server-Timing header: " + timing.error, true);
  for (auto& entry : timing.entries) {
    if (entry.seconds) out.result.stages.push_back({std::move(entry.name), *entry.seconds});
  }
  out.result.success = true;
  return out;
}

ProbeResult Probe::run_once() {
  Outcome outcome = perform();
  if (outcome.aborted) {
    log_.debug("probe aborted by stop");
  } else {
    record(outcome);
  }
  return std::move(outcome.result);
}

void Probe::record(const Outcome& outcome) {
  {
    std::lock_guard lock(result_mutex_);
    last_ = outcome.result;
    last_end_unix_ =
        std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
  // Logged outside result_mutex_, which scrapes take: a slow log sink must not stall them.
  std::lock_guard lock(report_mutex_);
  report(outcome);
}

// Changes of state are worth a line; the same failure again is not (only at debug).
void Probe::report(const Outcome& outcome) {
  const ProbeResult& r = outcome.result;
  std::string status = std::to_string(r.http_status);
  std::string duration = std::to_string(r.duration_seconds);
  if (r.success) {
    bool changed = !last_failure_.empty() || !reported_;
    log_.log(changed ? log::Level::info : log::Level::debug,
             last_failure_.empty() ? "probe succeeded" : "probe recovered",
             {{"status", status},
              {"duration_seconds", duration},
              {"stages", std::to_string(r.stages.size())}});
    last_failure_.clear();
  } else {
    bool repeated = outcome.key == last_failure_;
    log_.log(repeated ? log::Level::debug : log::Level::warn,
             repeated ? "probe still failing" : "probe failed",
             {{"err", r.error}, {"status", status}, {"duration_seconds", duration}});
    last_failure_ = outcome.key;
  }
  reported_ = true;
}

void Probe::start() {
  if (thread_.joinable()) return;
  stopping_.store(false);
  log_.info("probe started", {{"url", redact_url(options_.url)},
                              {"interval", std::to_string(options_.interval.count()) + "ms"},
                              {"timeout", std::to_string(options_.timeout.count()) + "ms"}});
  thread_ = std::thread(&Probe::loop, this);
}

void Probe::stop() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_.store(true);
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  stopping_.store(false);  // run_once() stays usable after a stop
}

void Probe::loop() {
  auto next = Clock::now();
  for (;;) {
    {
      std::unique_lock lock(wake_mutex_);
      if (wake_.wait_until(lock, next, [this] { return stopping_.load(); })) return;
    }
    auto begin = Clock::now();
    try {
      run_once();
    } catch (const std::exception& e) {  // a thread must not let it escape: that aborts
      log_.error("probe run failed", {{"err", e.what()}});
    }
    next = std::max(begin + options_.interval, Clock::now());
  }
}

std::optional<ProbeResult> Probe::last_result() const {
  std::lock_guard lock(result_mutex_);
  return last_;
}

void Probe::write(metrics::TextWriter& out) const {
  std::lock_guard lock(result_mutex_);
  if (!last_) return;
  write_gauge(out, "afp_probe_success",
              "Whether the last probe upload got a 2xx answer with a well-formed Server-Timing "
              "header (1) or not (0).",
              last_->success ? 1 : 0);
  write_gauge(out, "afp_probe_duration_seconds",
              "Duration of the last probe upload, connection and answer included.",
              last_->duration_seconds);
  write_gauge(out, "afp_probe_http_status_code",
              "HTTP status of the last probe's answer; 0 when no answer came.",
              static_cast<double>(last_->http_status));
  write_gauge(out, "afp_probe_last_run_timestamp_seconds", "Unix time the last probe finished.",
              last_end_unix_);
  if (!last_->success || last_->stages.empty()) return;
  out.family("afp_probe_stage_duration_seconds",
             "Stage durations the app reported in the Server-Timing header of the last "
             "successful probe answer.",
             metrics::MetricType::Gauge);
  for (const auto& stage : last_->stages)
    out.sample({{"stage", stage.name}}, stage.seconds);
}

}  // namespace afp::pipeline
