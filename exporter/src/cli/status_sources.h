#pragma once

// Where the readings of `afp_exporter status` come from: two scrapes of a running exporter
// or, when none answers at the default address, two collections of the built-in collectors.

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/exporter_client.h"
#include "collectors/settings.h"
#include "http/client.h"
#include "metrics/text_parser.h"

namespace afp::cli {

// What evaluate() reads, from the built-in cpu, meminfo and filesystem collectors instead of
// an exporter: two collections `interval` apart (CPU busy is a rate). A collector that
// cannot be built or fails is left out with a line on err, prefixed "<command>: "; the
// others still count. Shared by `status` (no exporter answering) and `profile --mode system`.
std::pair<std::vector<metrics::Sample>, std::vector<metrics::Sample>> collect_locally(
    const collectors::CollectorSettings& settings, std::chrono::milliseconds interval,
    std::string_view command, std::ostream& err);

// The flags of `status` that say where to read.
struct StatusSourceOptions {
  std::string url;
  bool url_given = false;  // without --url, status may collect locally when nothing listens
  ExporterClientFlags client_flags;
  http::ClientOptions client;
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{5000};
  collectors::CollectorSettings settings;
};

struct TwoScrapes {
  std::vector<metrics::Sample> before, after;
  std::chrono::duration<double> elapsed{};
  // The wall clock when the later scrape was asked for: what PostgreSQL's start time is
  // compared with (as Prometheus compares it with time()).
  std::optional<std::chrono::system_clock::time_point> read_at{};
};

// The exporter's two scrapes; the built-in collectors' when no --url was given and nothing
// listens at the default address. `source` names which ("local" or the URL). nullopt with
// the line on err when neither applies.
std::optional<TwoScrapes> read_source(const StatusSourceOptions& o, std::string& source,
                                      std::ostream& err);

}  // namespace afp::cli
