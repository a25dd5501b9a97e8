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
      server_({{options_.listen}, options_.worker_threads, nullptr}, log) {}

Service::~Service() {
  stop();
}

void Service::add_stats(std::string key, std::function<nlohmann::ordered_json()> source) {
  stats_sources_.emplace_back(std::move(key), std::move(source));
}

void Service::start() {
  server_.route("/identify", {"POST"}, [this](const auto& req, auto& res) { identify(req, res); });
  server_.route("/healthz", {"GET"}, [](const auto&, auto& res) { res.body = "ok\n"; });
  server_.route("/stats", {"GET"}, [this](const auto&, auto& res) { stats(res); });
  server_.route("/admin/faults", {"GET", "POST"},
                [this](const auto& req, auto& res) { admin_faults(req, res); });
  server_.route("/", {"GET"}, [](const auto&, auto& res) { res.body = kLanding; });
  server_.start();
  started_ = true;
  log_.info("listening", {{"address", options_.listen}, {"port", std::to_string(port())}});
}

void Service::stop() {
  if (!started_) return;
  started_ = false;
  server_.stop();
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
  } catch (const FaultError& e) {
    res.status = 503;
    res.body = dump({{"error", e.what()}, {"faults", faults_.state_json()}});
  }
}

}  // namespace afp::workload
