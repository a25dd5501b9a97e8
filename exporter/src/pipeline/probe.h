#pragma once

// The active probe: uploads a reference audio file to the app's identify endpoint and
// publishes whether it worked, how long it took, and the stages the app reports in its
// Server-Timing header (README "Active probe": afp_probe_success, afp_probe_duration_seconds,
// afp_probe_stage_duration_seconds{stage}).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "log/logger.h"
#include "metrics/text_writer.h"

namespace afp::pipeline {

struct ProbeOptions {
  std::string url;         // http:// or https://
  std::string audio_file;  // read once, at construction
  std::chrono::milliseconds interval{30000}, timeout{15000};
  std::string form_field = "file";  // multipart/form-data field; empty: the raw file as body
  std::string content_type = "audio/wav";
};

struct ProbeResult {
  struct Stage {
    std::string name;
    double seconds;
  };
  bool success = false;
  double duration_seconds = 0;
  long http_status = 0;       // 0: no answer
  std::vector<Stage> stages;  // Server-Timing metrics with a dur, header order
  std::string error;          // why it failed; empty on success
};

// A configuration the probe cannot run with: bad URL, unreadable or oversized file.
class ProbeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

inline constexpr std::size_t kMaxProbeAudioBytes = 64u << 20;

// The URL fit for logs: user:password@ and the query (either may carry credentials)
// become "xxxxx".
std::string redact_url(std::string_view url);

// Success means the transfer completed, the status is 2xx and the Server-Timing header, if
// any, parses. An answer without the header succeeds with no stages (the app may not time
// itself); a malformed one fails, as the app is then broken in a way dashboards would hide.
// Every run opens a new connection, so the duration includes connecting (and TLS).
class Probe {
 public:
  // Loads libcurl and the audio file; throws ProbeError (or CurlError) with the reason.
  Probe(ProbeOptions options, log::Logger& log);
  ~Probe();
  Probe(const Probe&) = delete;
  Probe& operator=(const Probe&) = delete;

  // One upload, now, on the calling thread; the result is also what write() publishes.
  // Needs no scheduler (the profile command calls it directly).
  ProbeResult run_once();
  // Runs every interval on a thread of its own. Runs never overlap: a slow one delays the
  // next, which starts at max(previous start + interval, previous end). The first run is
  // immediate.
  void start();
  // Wakes the thread, aborts a request in flight (within about a second: libcurl's
  // progress callback) and joins. Idempotent.
  void stop();

  // The last finished run; nothing before the first one. Stages only when it succeeded.
  void write(metrics::TextWriter& out) const;
  std::optional<ProbeResult> last_result() const;

 private:
  struct Outcome;
  Outcome perform();
  void record(const Outcome& outcome);
  void report(const Outcome& outcome);
  void loop();

  ProbeOptions options_;
  log::Logger& log_;
  std::string audio_;
  std::string user_agent_;

  std::atomic<bool> stopping_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::thread thread_;

  mutable std::mutex result_mutex_;
  std::optional<ProbeResult> last_;
  double last_end_unix_ = 0;
  std::mutex report_mutex_;   // the two below; never held by a scrape
  std::string last_failure_;  // the reason last logged; empty while succeeding
  bool reported_ = false;     // whether any run was logged yet
};

}  // namespace afp::pipeline
