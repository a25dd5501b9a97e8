// Wire format v1 over HTTP: POST /api/v1/observations, all-or-nothing batches.
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/secret.h"
#include "http/client.h"
#include "http_client.h"
#include "report_transport.h"

namespace afp::workload {

namespace {

constexpr std::string_view kIngestPath = "/api/v1/observations";

std::string ingest_url(std::string_view url) {
  std::string error;
  auto parsed = http::parse_url(url, &error);
  if (!parsed) throw ReporterError("report URL \"" + std::string(url) + "\": " + error);
  std::string out(url);
  if (parsed->target == "/" || parsed->target.empty()) {
    while (!out.empty() && out.back() == '/')
      out.pop_back();
    out += kIngestPath;
  }
  return out;
}

std::string load_token() {
  try {
    static const std::string kNoFile;
    auto secret = core::load_secret({"AFP_INGEST_TOKEN", std::getenv("AFP_INGEST_TOKEN"),
                                     std::getenv("AFP_INGEST_TOKEN_FILE"), "", kNoFile});
    return secret ? secret->value : std::string();
  } catch (const core::SecretError& e) {
    throw ReporterError(e.what());
  }
}

// Answers that no retry can change: the batch itself is unacceptable.
bool is_permanent_refusal(long status) {
  return status == 400 || status == 413 || status == 415;
}

class HttpTransport : public ReportTransport {
 public:
  HttpTransport(std::string url, std::string token, log::Logger& log)
      : url_(std::move(url)), log_(log) {
    headers_.emplace_back("Content-Type: application/json");
    if (!token.empty()) headers_.push_back("Authorization: Bearer " + token);
  }

  Outcome send(const std::vector<ReportObservation>& batch,
               std::chrono::milliseconds timeout) override {
    std::string body = observations_json(batch);
    auto reply = client_.send({url_, "POST", headers_, body, timeout});
    if (reply.status >= 200 && reply.status < 300) {
      note_delivered();
      return Outcome::Sent;
    }
    if (is_permanent_refusal(reply.status)) {
      log_.error("the exporter refused a batch of observations; it is dropped",
                 {{"status", std::to_string(reply.status)},
                  {"observations", std::to_string(batch.size())},
                  {"answer", reply.body.substr(0, 300)}});
      return Outcome::Drop;
    }
    note_failure(reply.answered() ? "HTTP status " + std::to_string(reply.status) : reply.error);
    return Outcome::Retry;
  }

 private:
  // A failing exporter is worth one line when it starts failing and one when it is back.
  void note_failure(const std::string& why) {
    if (failing_) return;
    failing_ = true;
    log_.warn("cannot push observations to the exporter; keeping them and retrying",
              {{"url", url_}, {"err", why}});
  }
  void note_delivered() {
    if (!failing_) return;
    failing_ = false;
    log_.info("pushing observations to the exporter again", {{"url", url_}});
  }

  std::string url_;
  std::vector<std::string> headers_;
  log::Logger& log_;
  HttpClient client_;
  bool failing_ = false;
};

}  // namespace

std::string observations_json(const std::vector<ReportObservation>& batch) {
  auto items = nlohmann::json::array();
  for (const auto& o : batch) {
    nlohmann::json item{{"metric", pipeline::wire_name(o.kind)}};
    switch (o.kind) {
      case pipeline::Kind::Identification:
        break;  // counts 1, no value field
      case pipeline::Kind::FingerprintHashes:
        item["count"] = static_cast<std::uint64_t>(o.value);
        break;
      default:
        item["seconds"] = o.value;
    }
    const auto& schema = pipeline::label_schema(o.kind);
    if (schema.count > 0) {
      auto labels = nlohmann::json::object();
      for (std::size_t i = 0; i < schema.count; ++i)
        labels[std::string(schema.names[i])] = o.labels[i];
      item["labels"] = std::move(labels);
    }
    items.push_back(std::move(item));
  }
  // Label values are ours and UTF-8; should one not be, the exporter refuses a visible
  // U+FFFD rather than the process aborting on an exception in the flusher.
  return nlohmann::json{{"observations", std::move(items)}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::unique_ptr<ReportTransport> make_http_transport(std::string_view url, log::Logger& log) {
  return std::make_unique<HttpTransport>(ingest_url(url), load_token(), log);
}

}  // namespace afp::workload
