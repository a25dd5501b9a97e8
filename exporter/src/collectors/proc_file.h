#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace afp::collectors {

// Reads a whole (pseudo-)file. /proc files report size 0, so this reads until EOF.
// Throws CollectError naming the path when the file cannot be opened or read.
std::string read_file(const std::string& path);
// Same, but an absent or unreadable file gives nullopt (optional inputs).
std::optional<std::string> try_read_file(const std::string& path);

// Splits on runs of spaces and tabs; no allocation beyond the vector.
void split_fields(std::string_view line, std::vector<std::string_view>& fields);

// Calls fn(line) for each newline-separated line, the newline excluded; a trailing
// partial line (truncated file) is passed too.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    auto end = text.find('\n');
    fn(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Whole-field numeric parsing: nullopt on anything but a complete number.
std::optional<std::uint64_t> parse_u64(std::string_view text);
std::optional<double> parse_double(std::string_view text);

// Joins a root (e.g. --path.procfs) and a relative path.
std::string join_path(std::string_view root, std::string_view rel);

}  // namespace afp::collectors
