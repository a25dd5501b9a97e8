#pragma once

#include <charconv>
#include <string>

namespace afp::workload {

// The shortest text that reads back as the same double: "2", "0.25", "1840.5".
inline std::string number_text(double value) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, res.ptr);
}

}  // namespace afp::workload
