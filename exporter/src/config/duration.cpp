// The durations of flags and config keys (options.h): "5s", "200ms", "1m30s".
#include <charconv>

#include "config/options.h"

namespace afp::config {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  constexpr long long kMaxDurationMs = 365LL * 24 * 3'600'000;  // a year: surely a typo beyond
  if (text.empty()) return std::nullopt;
  std::chrono::milliseconds total{0};
  while (!text.empty()) {
    long long n = 0;
    auto res = std::from_chars(text.data(), text.data() + text.size(), n);
    if (res.ec != std::errc() || n < 0) return std::nullopt;
    text.remove_prefix(static_cast<std::size_t>(res.ptr - text.data()));
    long long unit_ms = 0;
    if (text.starts_with("ms")) {
      unit_ms = 1;
      text.remove_prefix(2);
    } else if (!text.empty() && (text[0] == 's' || text[0] == 'm' || text[0] == 'h')) {
      unit_ms = text[0] == 's' ? 1000 : text[0] == 'm' ? 60'000 : 3'600'000;
      text.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    if (n > kMaxDurationMs / unit_ms) return std::nullopt;
    total += std::chrono::milliseconds(n * unit_ms);
    if (total.count() > kMaxDurationMs) return std::nullopt;
  }
  return total;
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms % 1000 != 0) return std::to_string(ms) + "ms";
  return std::to_string(ms / 1000) + "s";
}

}  // namespace afp::config
