#include "pipeline/server_timing.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>

#include "core/ascii.h"

namespace afp::pipeline {

namespace {

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

// qdtext and the second byte of a quoted-pair: HTAB, SP, visible ASCII and obs-text.
bool is_quotable(char c) {
  auto u = static_cast<unsigned char>(c);
  return u == '\t' || (u >= 0x20 && u != 0x7f);
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  ServerTiming run() {
    ServerTiming out;
    std::size_t seen = 0;
    skip_ows();
    while (ok() && !at_end()) {
      if (peek() == ',') {  // an empty list element
        ++pos_;
        skip_ows();
        continue;
      }
      if (++seen > kMaxServerTimingEntries) {
        fail("more than " + std::to_string(kMaxServerTimingEntries) + " metrics");
        break;
      }
      auto entry = metric();
      if (!ok()) break;
      if (!contains(out.entries, entry.name)) out.entries.push_back(std::move(entry));
      list_separator();
    }
    if (!ok()) out = ServerTiming{{}, error_};
    return out;
  }

 private:
  static bool contains(const std::vector<ServerTimingEntry>& entries, std::string_view name) {
    return std::any_of(entries.begin(), entries.end(),
                       [&](const ServerTimingEntry& e) { return e.name == name; });
  }

  ServerTimingEntry metric() {
    ServerTimingEntry entry;
    entry.name = std::string(token("metric name"));
    if (ok() && entry.name.size() > kMaxServerTimingNameLength) {
      fail("metric name longer than " + std::to_string(kMaxServerTimingNameLength) + " bytes");
    }
    skip_ows();
    while (ok() && !at_end() && peek() == ';') {
      ++pos_;
      skip_ows();
      param(entry);
      skip_ows();
    }
    return entry;
  }

  void param(ServerTimingEntry& entry) {
    std::string_view name = token("parameter name");
    if (!ok()) return;
    skip_ows();
    bool has_value = !at_end() && peek() == '=';
    std::string value;
    std::size_t where = pos_;
    if (has_value) {
      ++pos_;
      skip_ows();
      where = pos_;
      value = param_value();
      if (!ok()) return;
    }
    if (!core::iequals(name, "dur")) return;  // desc is checked for shape only; others ignored
    auto ms = has_value ? to_milliseconds(value) : std::nullopt;
    if (!ms) {
      fail_at(where, "dur is not a finite non-negative number");
      return;
    }
    // The spec: only the first dur of a metric counts.
    if (!entry.seconds) entry.seconds = *ms / 1000.0;
  }

  static std::optional<double> to_milliseconds(std::string_view text) {
    double value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value, std::chars_format::general);
    if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
    if (!std::isfinite(value) || value < 0) return std::nullopt;
    return value + 0.0;  // -0 becomes 0
  }

  std::string param_value() {
    if (!at_end() && peek() == '"') return quoted_string();
    return std::string(token("parameter value"));
  }

  std::string quoted_string() {
    std::size_t open = pos_++;
    std::string out;
    while (!at_end()) {
      char c = text_[pos_++];
      if (c == '"') return out;
      if (c == '\\') {
        if (at_end()) break;
        c = text_[pos_++];
      }
      if (!is_quotable(c)) {
        fail_at(pos_ - 1, "control character in quoted string");
        return {};
      }
      out += c;
    }
    fail_at(open, "unterminated quoted string");
    return {};
  }

  std::string_view token(const char* what) {
    std::size_t start = pos_;
    while (!at_end() && is_tchar(peek()))
      ++pos_;
    if (pos_ == start) fail(std::string("expected a ") + what);
    return text_.substr(start, pos_ - start);
  }

  void list_separator() {
    skip_ows();
    if (!ok() || at_end()) return;
    if (peek() != ',') {
      fail("expected ',' or ';'");
      return;
    }
    ++pos_;
    skip_ows();
  }

  void skip_ows() {
    while (!at_end() && is_ows(peek()))
      ++pos_;
  }

  void fail(std::string why) { fail_at(pos_, std::move(why)); }
  void fail_at(std::size_t where, std::string why) {
    if (ok()) error_ = "offset " + std::to_string(where) + ": " + why;
  }

  bool ok() const { return error_.empty(); }
  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return text_[pos_]; }

  std::string_view text_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace

ServerTiming parse_server_timing(std::string_view header) {
  return Parser(header).run();
}

}  // namespace afp::pipeline
