#pragma once

// What every harness needs besides the code under test: the input as text, and checks of
// properties that must hold whatever the input. A broken property aborts, which libFuzzer
// reports as a crash and the replay driver as a failed test (assert() would vanish under
// NDEBUG in RelWithDebInfo builds).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace afp::fuzz {

inline std::string_view text_of(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Aborts with `what` on stderr when `ok` is false.
void require(bool ok, const char* what);

// The '\n'-separated lines of text, the last one also when it has no newline.
std::vector<std::string_view> split_lines(std::string_view text);

// Output of a metrics writer must stay a valid exposition, whatever went in: it parses
// (metrics::parse_text) and declares no family twice, since Prometheus refuses the whole
// scrape otherwise.
void require_exposition(const std::string& text);

}  // namespace afp::fuzz
