#include "app/scrape_timeout.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace afp::app {

namespace {

// Digits, at most one '.', and no sign, exponent or name (what Prometheus sends: "10",
// "9.5"); from_chars alone would take "inf", "nan" and "1e10".
bool plain_decimal(std::string_view text) {
  if (text.empty() || text.size() > 32) return false;
  bool digit = false;
  bool dot = false;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c == '.' && !dot) {
      dot = true;
    } else {
      return false;
    }
  }
  return digit;
}

}  // namespace

std::optional<double> parse_scrape_timeout(std::string_view header) {
  if (!plain_decimal(header)) return std::nullopt;
  double seconds = 0;
  auto [end, ec] = std::from_chars(header.data(), header.data() + header.size(), seconds);
  if (ec != std::errc() || end != header.data() + header.size() || !std::isfinite(seconds) ||
      seconds <= 0) {
    return std::nullopt;
  }
  return std::clamp(seconds, kMinScrapeTimeoutSeconds, kMaxScrapeTimeoutSeconds);
}

std::chrono::steady_clock::duration scrape_budget(double timeout_seconds) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(timeout_seconds - kScrapeTimeoutMargin));
}

}  // namespace afp::app
