#pragma once

// The W3C Server-Timing response header, as the fingerprinting app reports its stages
// (https://www.w3.org/TR/server-timing/): `name;dur=12.5;desc="..."`, comma-separated.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace afp::pipeline {

struct ServerTimingEntry {
  std::string name;
  std::optional<double> seconds;  // dur / 1000; nullopt when the metric carries no dur
};

struct ServerTiming {
  std::vector<ServerTimingEntry> entries;  // header order; the first of a name wins
  std::string error;                       // set (and entries empty) for malformed input
  bool ok() const { return error.empty(); }
};

// Beyond these the header is refused: each entry becomes a labelled series.
inline constexpr std::size_t kMaxServerTimingEntries = 32;
inline constexpr std::size_t kMaxServerTimingNameLength = 64;

// Parses one header value, or several header lines joined with ", ". Empty list elements
// are skipped (RFC 7230 section 7); params other than dur and desc are ignored, and may
// lack a value. Malformed: a name or param name that is not a token, an unterminated or
// invalid quoted string, a dur that is not a finite non-negative number, too many entries
// or too long a name. Error messages give the byte offset, never the header's text.
ServerTiming parse_server_timing(std::string_view header);

}  // namespace afp::pipeline
