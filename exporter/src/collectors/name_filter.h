#pragma once

#include <mutex>
#include <regex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace afp::collectors {

// Include/exclude regex pair over device or mount names. Decisions are memoised: the set
// of names on a host is small and stable, and std::regex is slow, so each name is matched
// once. Empty patterns match nothing (exclude) or everything (include).
class NameFilter {
 public:
  // Throws std::regex_error (via compile) for a bad pattern; see validate_regex.
  NameFilter(std::string_view include, std::string_view exclude);

  bool accepts(std::string_view name);

 private:
  bool has_include_;
  bool has_exclude_;
  std::regex include_;
  std::regex exclude_;
  std::mutex mutex_;
  std::unordered_map<std::string, bool> cache_;
};

// Empty string when the pattern compiles, otherwise the reason.
std::string validate_regex(std::string_view pattern);

}  // namespace afp::collectors
