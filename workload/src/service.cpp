#include "service.h"

#include <thread>

#include "admin_request.h"
#include "multipart.h"
#include "stopwatch.h"

namespace afp::workload {

namespace {

constexpr std::size_t kMaxAdminBody = 64u << 10;
constexpr const char* kJson = "application/json";

constexpr const char* kLanding =
    "afp_workload: a Dejavu-style audio fingerprinting service (the afp_exporter reference "
    "workload)\n\n"
    "POST /identify        audio file (WAV, FLAC, OGG), raw or multipart/form-data field \"file\"\n"
    "GET  /healthz         liveness\n"
    "GET  /stats           request, identification, reporter and load counters (JSON)\n"
    "GET  /admin/faults    fault switches (JSON)\n"
    "POST /admin/faults    ?NAME=VALUE&... or NAME[=VALUE] lines; loopback only\n";

std::string dump(const nlohmann::ordered_json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

nlohmann::ordered_json error_body(const std::string& message) {
  return {{"error", message}};
}

// The audio in the request: the body itself, or the upload part of a multipart form.
// Throws MultipartError.
std::string_view upload_of(const http::Request& req, std::string_view body) {
  auto boundary = form_data_boundary(req.header("Content-Type"));
  if (!boundary) return body;
  auto parts = parse_multipart(body, *boundary);
  const auto* upload = find_upload(parts);
  if (!upload)
    throw MultipartError("no file in the form (a part named \"file\" or with a filename)");
  return upload->body;
}

}  // namespace

Service::Service(ServiceOptions options, Identifier& identifier, Faults& faults, Reporter& reporter,
                 log::Logger& log)
    : options_(std::move(options)),
      identifier_(identifier),
      faults_(faults),
      reporter_(reporter),
      log_(log),
      server_({{options_.listen}, options_.worker_threads, nullptr}, log) {
  if (!options_.probe_listen.empty())
    faults_.set_probe_switch([this](bool reachable) { set_probe_reachable(reachable); });
}

Service::~Service() {
  stop();
  if (!options_.probe_listen.empty()) faults_.set_probe_switch(nullptr);
}

void Service::add_stats(std::string key, std::function<nlohmann::ordered_json()> source) {
  stats_sources_.emplace_back(std::move(key), std::move(source));
}

void Service::add_routes(http::Server& server, bool admin) {
  server.route("/identify", {"POST"}, [this](const auto& req, auto& res) { identify(req, res); });
  server.route("/healthz", {"GET"}, [](const auto&, auto& res) { res.body = "ok\n"; });
  server.route("/stats", {"GET"}, [this](const auto&, auto& res) { stats(res); });
  if (admin) {
    server.route("/admin/faults", {"GET", "POST"},
                 [this](const auto& req, auto& res) { admin_faults(req, res); });
  }
  server.route("/", {"GET"}, [](const auto&, auto& res) { res.body = kLanding; });
}

void Service::start() {
  add_routes(server_, true);
  server_.start();
  log_.info("listening", {{"address", options_.listen}, {"port", std::to_string(port())}});
  // Under the lock: probe-unreachable, switched meanwhile, must find the probe as it is.
  std::lock_guard lock(probe_mutex_);
  try {
    if (!options_.probe_listen.empty() && !probe_closed_) open_probe();
  } catch (...) {
    server_.stop();
    throw;
  }
  started_ = true;
}

void Service::stop() {
  if (!started_.exchange(false)) return;
  {
    std::lock_guard lock(probe_mutex_);
    if (probe_) probe_->stop();
    probe_.reset();
  }
  server_.stop();
}

void Service::open_probe() {
  auto address = options_.probe_listen;
  if (probe_port_ != 0) {  // the port an earlier opening picked: the prober knows that one
    address = address.substr(0, address.rfind(':') + 1) + std::to_string(probe_port_);
  }
  auto server = std::make_unique<http::Server>(
      http::ServerOptions{{address}, options_.probe_worker_threads, nullptr}, log_);
  // No /admin/faults: an ingress would not expose it, and probe-unreachable asked there
  // would have the listener wait for the very request that stops it.
  add_routes(*server, false);
  server->start();
  probe_port_ = server->ports().front();
  probe_ = std::move(server);
  log_.info("probe listening", {{"address", address}, {"port", std::to_string(probe_port_)}});
}

// The probe-unreachable switch: refuses connections as an ingress that is down does.
void Service::set_probe_reachable(bool reachable) {
  std::lock_guard lock(probe_mutex_);
  probe_closed_ = !reachable;
  if (!started_.load()) return;
  if (!reachable && probe_) {
    probe_->stop();
    probe_.reset();
    log_.info("probe listener closed", {{"port", std::to_string(probe_port_)}});
  }
  if (reachable && !probe_) {
    try {
      open_probe();
    } catch (const http::ServerError& e) {
      throw FaultError(std::string("the probe listener cannot open again: ") + e.what());
    }
  }
}

int Service::probe_port() const {
  std::lock_guard lock(probe_mutex_);
  return probe_port_;
}

int Service::port() const {
  auto ports = server_.ports();
  return ports.empty() ? 0 : ports.front();
}

void Service::identify(const http::Request& req, http::Response& res) {
  Stopwatch watch;
  Answer answer = identify_answer(req);
  res.status = answer.status;
  res.content_type = kJson;
  res.body = dump(answer.body);
  if (!answer.server_timing.empty())
    res.headers.emplace_back("Server-Timing", answer.server_timing);
  bool matched = answer.status == 200 && answer.body.value("match", false);
  // slow-api: the wait is in the answer's time (api_request), in no stage's. Handlers run on
  // the server's fixed pool of worker_threads (serve: at least 16, 2 x --concurrency + 8)
  // and a held answer holds its worker. The identify load keeps at most --concurrency
  // uploads in flight and skips its slots while they are busy, so at 6 s an answer it
  // holds 4 workers, not a growing queue; the probe listener has a pool of its own. Half
  // the pool at most waits, so that any other caller piling up requests cannot take the
  // workers /healthz, /stats and /admin/faults need: beyond that, answers go out at once.
  faults_.hold_answer(std::max(1, options_.worker_threads / 2));
  count(answer.status, matched);
  reporter_.api_request(watch.seconds(), "/identify", "POST", answer.status);
  if (answer.status == 200) reporter_.identification(matched ? "match" : "no_match");
  if (answer.status >= 500) reporter_.identification("error");
}

Service::Answer Service::identify_answer(const http::Request& req) {
  std::string body;
  switch (req.read_body(options_.max_body_bytes, &body)) {
    case http::BodyStatus::Ok:
      break;
    case http::BodyStatus::TooLarge:
      return {413,
              error_body("the upload is larger than " + std::to_string(options_.max_body_bytes) +
                         " bytes"),
              {}};
    case http::BodyStatus::Error:
      return {400, error_body("the request body could not be read"), {}};
  }
  StageTimes stages;
  try {
    auto upload = upload_of(req, body);
    if (upload.empty()) return {400, error_body("empty upload: send an audio file"), {}};
    if (faults_.fail_this_request()) {
      return {500, error_body("internal error (injected by the errors fault)"), {}};
    }
    auto result = identifier_.identify(upload, stages);
    return {200, to_json(result), server_timing(stages)};
  } catch (const MultipartError& e) {
    return {400, error_body(std::string("bad multipart upload: ") + e.what()), {}};
  } catch (const AudioError& e) {
    return {400, error_body(std::string("cannot use the audio: ") + e.what()), {}};
  } catch (const DbUnavailable& e) {
    return {503, error_body(e.what()), server_timing(stages)};
  } catch (const std::exception& e) {  // SQL errors, allocation: the service's fault
    log_.error("identify failed", {{"err", e.what()}});
    return {500, error_body(std::string("internal error: ") + e.what()), server_timing(stages)};
  }
}

void Service::count(int status, bool matched) {
  std::lock_guard lock(stats_mutex_);
  ++requests_by_status_[status];
  if (status >= 500) ++errors_;
  if (status == 200) ++(matched ? matches_ : no_matches_);
}

void Service::stats(http::Response& res) {
  nlohmann::ordered_json out;
  {
    std::lock_guard lock(stats_mutex_);
    auto by_status = nlohmann::ordered_json::object();
    for (const auto& [status, n] : requests_by_status_)
      by_status[std::to_string(status)] = n;
    out["requests"] = by_status;
    out["matches"] = matches_;
    out["no_matches"] = no_matches_;
    out["errors"] = errors_;
  }
  auto r = reporter_.counters();
  out["reporter"] = {
      {"sent", r.sent}, {"retried", r.retried}, {"dropped", r.dropped}, {"queued", r.queued}};
  for (const auto& [key, source] : stats_sources_)
    out[key] = source();
  out["faults"] = faults_.state_json();
  res.content_type = kJson;
  res.body = dump(out);
}

void Service::admin_faults(const http::Request& req, http::Response& res) {
  res.content_type = kJson;
  if (req.method == "GET") {
    res.body = dump(faults_.state_json());
    return;
  }
  if (!http::is_loopback(req.remote_addr)) {
    res.status = 403;
    res.body = dump(error_body("faults can be changed from this host only (loopback)"));
    return;
  }
  std::string body;
  if (req.read_body(kMaxAdminBody, &body) != http::BodyStatus::Ok) {
    res.status = 400;
    res.body = dump(error_body("the request body could not be read (at most 64 KiB)"));
    return;
  }
  try {
    auto hardware = std::thread::hardware_concurrency();
    faults_.apply(fault_specs_of_request(req.query, body, hardware));
    res.body = dump(faults_.state_json());
  } catch (const FaultSpecError& e) {
    res.status = 400;
    res.body = dump(error_body(e.what()));
  } catch (const FaultUnavailable& e) {
    res.status = 409;
    res.body = dump({{"error", e.what()}, {"faults", faults_.state_json()}});
  } catch (const FaultError& e) {
    res.status = 503;
    res.body = dump({{"error", e.what()}, {"faults", faults_.state_json()}});
  }
}

}  // namespace afp::workload
