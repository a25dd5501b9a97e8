#pragma once

// UTF-8 validation for label values (Prometheus requires UTF-8), shared by the ingest
// parsers and the store.

#include <cstddef>
#include <string_view>

namespace afp::core {

// Length of the valid UTF-8 sequence starting at a lead byte >= 0x80, 0 when invalid. The
// ranges of the second byte refuse overlong forms, surrogates and code points > U+10FFFF.
inline std::size_t utf8_sequence_length(const char* at, const char* end) {
  const auto* p = reinterpret_cast<const unsigned char*>(at);
  unsigned c = p[0];
  std::size_t tail = 0;
  unsigned lo = 0x80;
  unsigned hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    tail = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    tail = 2;
    lo = c == 0xE0 ? 0xA0 : lo;
    hi = c == 0xED ? 0x9F : hi;
  } else if (c >= 0xF0 && c <= 0xF4) {
    tail = 3;
    lo = c == 0xF0 ? 0x90 : lo;
    hi = c == 0xF4 ? 0x8F : hi;
  } else {
    return 0;
  }
  if (static_cast<std::size_t>(end - at) <= tail || p[1] < lo || p[1] > hi) return 0;
  for (std::size_t k = 2; k <= tail; ++k) {
    if ((p[k] & 0xC0) != 0x80) return 0;
  }
  return tail + 1;
}

inline bool valid_utf8(std::string_view text) {
  const char* p = text.data();
  const char* end = p + text.size();
  while (p < end) {
    if (static_cast<unsigned char>(*p) < 0x80) {
      ++p;
      continue;
    }
    std::size_t n = utf8_sequence_length(p, end);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

}  // namespace afp::core
