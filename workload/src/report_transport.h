#pragma once

// How a batch of observations leaves the process: JSON over HTTP to the exporter's ingest
// route (wire format v1), or DogStatsD lines over UDP. The Reporter owns the queue and the
// schedule; a transport only sends.

#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "log/logger.h"
#include "report_observation.h"

namespace afp::workload {

class ReporterError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ReportTransport {
 public:
  enum class Outcome {
    Sent,
    Retry,  // not delivered, may be later (no answer, 5xx): keep the batch
    Drop,   // can never be delivered as it is (the exporter refused it): forget it
  };
  virtual ~ReportTransport() = default;
  virtual Outcome send(const std::vector<ReportObservation>& batch,
                       std::chrono::milliseconds timeout) = 0;
};

// "http://HOST:PORT" (the ingest route is appended when the URL has no path). The bearer
// token comes from AFP_INGEST_TOKEN or AFP_INGEST_TOKEN_FILE when set. Throws ReporterError.
std::unique_ptr<ReportTransport> make_http_transport(std::string_view url, log::Logger& log);
// "statsd://HOST:PORT". Throws ReporterError when the host does not resolve.
std::unique_ptr<ReportTransport> make_statsd_transport(std::string_view url, log::Logger& log);

// The wire format v1 request body for a batch.
std::string observations_json(const std::vector<ReportObservation>& batch);
// One DogStatsD line (no newline): timers in milliseconds, counters as `c`, labels as tags.
std::string statsd_line(const ReportObservation& observation);
// Lines packed into datagrams of at most max_bytes (a longer single line goes alone).
std::vector<std::string> statsd_datagrams(const std::vector<ReportObservation>& batch,
                                          std::size_t max_bytes = 1400);

}  // namespace afp::workload
