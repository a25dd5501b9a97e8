#pragma once

// X-Prometheus-Scrape-Timeout-Seconds: how long the scraper waits for this scrape. Any
// client can send it, so it is read strictly and can only shorten this scrape's own wait:
// it never sets how long a shared collection (PostgreSQL) may run.

#include <chrono>
#include <optional>
#include <string_view>

namespace afp::app {

// The range a scrape timeout is clamped to: below a second no collector could answer, and
// Prometheus itself refuses scrape_timeout above scrape_interval.
inline constexpr double kMinScrapeTimeoutSeconds = 1;
inline constexpr double kMaxScrapeTimeoutSeconds = 300;
// Time left for the response to travel back.
inline constexpr double kScrapeTimeoutMargin = 0.5;

// The header's seconds, clamped; nullopt when it is not a plain positive decimal number
// (empty, "nan", "inf", "1e10", "-1", "5s", trailing bytes, ...).
std::optional<double> parse_scrape_timeout(std::string_view header);

// How long this scrape may take before it must answer with what it has.
std::chrono::steady_clock::duration scrape_budget(double timeout_seconds);

}  // namespace afp::app
