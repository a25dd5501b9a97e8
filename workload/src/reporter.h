#pragma once

// Reports what the workload does to the exporter, as a production app would (README
// "Pushing pipeline timings from the app"). Callers never wait for the network: they queue,
// and a background thread sends every flush_interval, or sooner once batch_size are
// queued. Nothing accepted is lost to a transient failure: a batch that got no answer (or a
// 5xx) goes back to the queue and is sent again on the next tick; the queue is bounded and
// loses its oldest entries, counted and logged at most once a minute, beyond max_queued.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "log/logger.h"
#include "observation_queue.h"
#include "report_transport.h"

namespace afp::workload {

struct ReporterOptions {
  std::chrono::milliseconds flush_interval{1000};
  std::size_t batch_size = 1000;
  std::size_t max_queued = 100000;
  std::chrono::milliseconds send_timeout{2000};
  std::chrono::milliseconds stop_deadline{3000};  // stop() gives the last flush this long
};

struct ReporterCounters {
  std::uint64_t sent = 0;     // observations delivered
  std::uint64_t retried = 0;  // failed sends whose batch was kept for the next tick
  std::uint64_t dropped = 0;  // observations lost: queue full, refused by the exporter, stop
  std::uint64_t queued = 0;   // waiting now
};

class Reporter {
 public:
  // "none", "http://HOST:PORT" or "statsd://HOST:PORT". Throws ReporterError.
  static std::unique_ptr<Reporter> create(std::string_view url, log::Logger& log,
                                          ReporterOptions options = {});
  // A null transport discards everything (the "none" reporter).
  Reporter(std::unique_ptr<ReportTransport> transport, log::Logger& log, ReporterOptions options);
  ~Reporter();
  Reporter(const Reporter&) = delete;
  Reporter& operator=(const Reporter&) = delete;

  void fingerprint_generation(double seconds);
  void api_request(double seconds, std::string_view endpoint, std::string_view method, int status);
  void db_query(double seconds, std::string_view operation);  // lookup|insert|delete|other
  void identification(std::string_view result);               // match|no_match|error
  void audio_processed(double seconds);
  void fingerprint_hashes(std::uint64_t count);
  void submit(ReportObservation observation);

  ReporterCounters counters() const;
  // Sends what is queued (within stop_deadline) and ends the thread. Later observations
  // are discarded. Idempotent.
  void stop();

 private:
  void loop();
  bool drain(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout);
  void final_flush(std::unique_lock<std::mutex>& lock);
  void collect_drops();
  void log_drops(bool force);

  std::unique_ptr<ReportTransport> transport_;
  log::Logger& log_;
  ReporterOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  ObservationQueue queue_;
  ReporterCounters counters_;
  std::uint64_t unlogged_drops_ = 0;
  std::chrono::steady_clock::time_point last_drop_log_{};
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace afp::workload
