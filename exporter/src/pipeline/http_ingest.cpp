#include "pipeline/http_ingest.h"

#include <nlohmann/json.hpp>
#include <vector>

#include "core/ascii.h"

namespace afp::pipeline {

namespace {

void answer(http::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.content_type = "application/json";
  response.body = body.dump() + "\n";
}

void refuse(http::Response& response, int status, std::string_view message,
            std::optional<std::size_t> index = std::nullopt) {
  nlohmann::json body{{"error", message}};
  if (index) body["index"] = *index;
  answer(response, status, body);
}

// "application/json", optionally with parameters ("; charset=utf-8").
bool is_json(std::string_view content_type) {
  constexpr std::string_view kJson = "application/json";
  if (!core::istarts_with(content_type, kJson)) return false;
  auto rest = content_type.substr(kJson.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ';
}

}  // namespace

IngestMode ingest_mode(const IngestSettings& settings) {
  if (!settings.token.empty()) return IngestMode::Token;
  return settings.allow_unauthenticated ? IngestMode::Open : IngestMode::LoopbackOnly;
}

std::string_view ingest_mode_name(IngestMode mode) {
  switch (mode) {
    case IngestMode::Token:
      return "bearer token";
    case IngestMode::LoopbackOnly:
      return "loopback peers only";
    case IngestMode::Open:
      break;
  }
  return "unauthenticated";
}

bool bearer_matches(std::string_view authorization, std::string_view token) {
  if (!core::istarts_with(authorization, "bearer ")) return false;
  auto given = authorization.substr(7);
  while (!given.empty() && given.front() == ' ')
    given.remove_prefix(1);
  // Every byte of the longer string is looked at, whatever matches.
  std::size_t n = std::max(given.size(), token.size());
  unsigned diff = given.size() == token.size() ? 0U : 1U;
  for (std::size_t i = 0; i < n; ++i) {
    auto a = i < given.size() ? static_cast<unsigned char>(given[i]) : 0U;
    auto b = i < token.size() ? static_cast<unsigned char>(token[i]) : 0U;
    diff |= a ^ b;
  }
  return diff == 0;
}

IngestHandler::IngestHandler(Store& store, IngestSettings settings)
    : store_(store), settings_(std::move(settings)) {}

bool IngestHandler::authorized(const http::Request& request, http::Response& response) const {
  switch (ingest_mode(settings_)) {
    case IngestMode::Token:
      if (bearer_matches(request.header("Authorization"), settings_.token)) return true;
      response.headers.emplace_back("WWW-Authenticate", "Bearer");
      refuse(response, 401, "missing or wrong bearer token");
      return false;
    case IngestMode::LoopbackOnly:
      if (http::is_loopback(request.remote_addr)) return true;
      refuse(response, 403,
             "no ingest token is configured, so only loopback peers may push; set "
             "AFP_INGEST_TOKEN or --ingest.allow-unauthenticated");
      return false;
    case IngestMode::Open:
      break;
  }
  return true;
}

void IngestHandler::handle(const http::Request& request, http::Response& response) const {
  if (!authorized(request, response)) {
    store_.count_rejected(Transport::Http, Reject::Unauthorized);
    return;
  }
  if (!is_json(request.header("Content-Type"))) {
    store_.count_rejected(Transport::Http, Reject::UnsupportedMedia);
    refuse(response, 415, "Content-Type must be application/json");
    return;
  }
  std::string body;
  switch (request.read_body(settings_.max_body_bytes, &body)) {
    case http::BodyStatus::Ok:
      break;
    case http::BodyStatus::TooLarge:
      store_.count_rejected(Transport::Http, Reject::BodyTooLarge);
      refuse(response, 413,
             "body larger than " + std::to_string(settings_.max_body_bytes) + " bytes");
      return;
    case http::BodyStatus::Error:
      store_.count_rejected(Transport::Http, Reject::Malformed);
      refuse(response, 400, "incomplete request body");
      return;
  }
  std::vector<Observation> batch;
  std::deque<std::string> scratch;
  if (auto error = parse_batch(body, settings_.batch, batch, scratch)) {
    store_.count_rejected(Transport::Http, error->reason);
    refuse(response, 400, error->message, error->index);
    return;
  }
  if (auto refusal = store_.apply(Transport::Http, batch)) {
    // Worded like the parser's refusals, which name the place first.
    refuse(response, 400,
           "observations[" + std::to_string(refusal->index) + "]: " + refusal->message,
           refusal->index);
    return;
  }
  answer(response, 200, {{"accepted", batch.size()}});
}

}  // namespace afp::pipeline
