#pragma once

// POST /api/v1/observations: authentication, body limits and the all-or-nothing batch,
// in front of the Store. The route is registered by the app; this knows the request and
// the answer only.

#include <cstddef>
#include <string>

#include "http/server.h"
#include "pipeline/batch_parser.h"
#include "pipeline/store.h"

namespace afp::pipeline {

struct IngestSettings {
  // Non-empty: every request must carry "Authorization: Bearer <token>".
  std::string token;
  // Without a token: accept non-loopback peers too (otherwise they get 403).
  bool allow_unauthenticated = false;
  std::size_t max_body_bytes = 1 << 20;
  BatchLimits batch;
};

enum class IngestMode { Token, LoopbackOnly, Open };
IngestMode ingest_mode(const IngestSettings& settings);
// For the start-up log line: "bearer token", "loopback peers only", "unauthenticated".
std::string_view ingest_mode_name(IngestMode mode);

class IngestHandler {
 public:
  IngestHandler(Store& store, IngestSettings settings);
  void handle(const http::Request& request, http::Response& response) const;
  IngestMode mode() const { return ingest_mode(settings_); }

 private:
  bool authorized(const http::Request& request, http::Response& response) const;

  Store& store_;
  IngestSettings settings_;
};

// Whether "Bearer <token>" names the token, in time that does not depend on where a wrong
// guess first differs.
bool bearer_matches(std::string_view authorization, std::string_view token);

}  // namespace afp::pipeline
