#include "harness_support.h"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <set>

#include "metrics/text_parser.h"

namespace afp::fuzz {

void require(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

void require_exposition(const std::string& text) {
  try {
    metrics::parse_text(text);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unparsable exposition (%s):\n%s\n", e.what(), text.c_str());
    require(false, "the writer's output parses");
  }
  std::set<std::string_view> families;
  for (auto line : split_lines(text)) {
    if (!line.starts_with("# TYPE ")) continue;
    auto name = line.substr(7, line.find(' ', 7) - 7);
    if (!families.insert(name).second) {
      std::fprintf(stderr, "family %.*s declared twice:\n%s\n", static_cast<int>(name.size()),
                   name.data(), text.c_str());
      require(false, "no family is declared twice");
    }
  }
}

}  // namespace afp::fuzz
