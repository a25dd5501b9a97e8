#include "collectors/name_filter.h"

namespace afp::collectors {

namespace {
constexpr std::size_t kMaxCachedNames = 4096;  // bound memory if names churn (e.g. veth)
}

NameFilter::NameFilter(std::string_view include, std::string_view exclude)
    : has_include_(!include.empty()),
      has_exclude_(!exclude.empty()),
      include_(has_include_ ? std::regex(std::string(include)) : std::regex()),
      exclude_(has_exclude_ ? std::regex(std::string(exclude)) : std::regex()) {}

bool NameFilter::accepts(std::string_view name) {
  std::lock_guard lock(mutex_);
  std::string key(name);
  if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  bool ok = (!has_include_ || std::regex_search(key, include_)) &&
            (!has_exclude_ || !std::regex_search(key, exclude_));
  if (cache_.size() >= kMaxCachedNames) cache_.clear();
  cache_.emplace(std::move(key), ok);
  return ok;
}

std::string validate_regex(std::string_view pattern) {
  try {
    std::regex re{std::string(pattern)};
  } catch (const std::regex_error& e) {
    return e.what();
  }
  return {};
}

}  // namespace afp::collectors
