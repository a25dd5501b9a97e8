#pragma once

// The fingerprinting service's HTTP face (afp::http::Server):
//   POST /identify       the audio file, raw or multipart/form-data; the match as JSON and
//                        the stage times in Server-Timing
//   GET  /healthz        "ok"
//   GET  /stats          counters as JSON
//   GET|POST /admin/faults   the fault switches (changes from loopback peers only)
//   GET  /               the routes
// Every /identify is reported to the exporter: api_request, and identification (error for
// a 5xx answer; 4xx are the client's mistakes, not identifications).
// With a probe address, a second listener serves the same routes but /admin/faults there, as a
// public ingress in front of the service would: the one an outside prober calls, and the one the
// probe-unreachable fault closes while the main listener and its load go on.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "faults.h"
#include "http/server.h"
#include "identify.h"
#include "log/logger.h"
#include "reporter.h"

namespace afp::workload {

struct ServiceOptions {
  std::string listen = "127.0.0.1:8080";  // host:port or :port; port 0 picks a free one
  int worker_threads = 16;
  std::string probe_listen;  // empty: no probe listener; port 0 picks one, kept on re-open
  int probe_worker_threads = 4;
  std::size_t max_body_bytes = 32u << 20;
};

class Service {
 public:
  Service(ServiceOptions options, Identifier& identifier, Faults& faults, Reporter& reporter,
          log::Logger& log);
  ~Service();

  // Another section of /stats (the load generator's counters, the ingest's progress).
  // Before start().
  void add_stats(std::string key, std::function<nlohmann::ordered_json()> source);
  // Binds and serves; throws http::ServerError. Logs "listening" with the bound port.
  void start();
  // Lets in-flight requests finish. Idempotent.
  void stop();
  int port() const;
  // The probe listener's port, also while probe-unreachable has it closed; 0 before start
  // or without one.
  int probe_port() const;

 private:
  struct Answer {
    int status = 200;
    nlohmann::ordered_json body;
    std::string server_timing;
  };
  void add_routes(http::Server& server, bool admin);
  void set_probe_reachable(bool reachable);
  void open_probe();  // under probe_mutex_
  void identify(const http::Request& req, http::Response& res);
  Answer identify_answer(const http::Request& req);
  void admin_faults(const http::Request& req, http::Response& res);
  void stats(http::Response& res);
  void count(int status, bool matched);

  ServiceOptions options_;
  Identifier& identifier_;
  Faults& faults_;
  Reporter& reporter_;
  log::Logger& log_;
  http::Server server_;
  std::vector<std::pair<std::string, std::function<nlohmann::ordered_json()>>> stats_sources_;
  std::mutex stats_mutex_;
  std::map<int, std::uint64_t> requests_by_status_;
  std::uint64_t matches_ = 0, no_matches_ = 0, errors_ = 0;
  std::atomic<bool> started_{false};
  mutable std::mutex probe_mutex_;
  std::unique_ptr<http::Server> probe_;  // null when closed
  int probe_port_ = 0;
  bool probe_closed_ = false;  // probe-unreachable, also when set before start()
};

}  // namespace afp::workload
