#include "pipeline/batch_parser.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "core/utf8.h"

namespace afp::pipeline {

namespace {

constexpr double kMaxCount = 9007199254740992.0;  // 2^53: every integer up to it is exact
constexpr std::string_view kCountRule = "must be an integer from 0 to 9007199254740992";
constexpr std::string_view kSecondsRule = "must be a finite number >= 0";

// Every label name of every kind in one index space, so an item can hold its labels before
// it knows its metric (JSON members come in any order).
constexpr std::array<std::string_view, 5> kLabelNames{"endpoint", "method", "status", "operation",
                                                      "result"};
constexpr std::array<std::string_view, 5> kLabelPaths{
    "labels.endpoint", "labels.method", "labels.status", "labels.operation", "labels.result"};

// Equality with a literal, its length known at compile time.
template <std::size_t N>
bool is(std::string_view s, const char (&literal)[N]) {
  return s.size() == N - 1 && std::memcmp(s.data(), literal, N - 1) == 0;
}

std::optional<std::size_t> label_id(std::string_view name) {
  if (is(name, "endpoint")) return 0;
  if (is(name, "method")) return 1;
  if (is(name, "status")) return 2;
  if (is(name, "operation")) return 3;
  if (is(name, "result")) return 4;
  return std::nullopt;
}

// For each kind and label id: the position in Observation::labels, or -1 when the kind
// does not take that label.
using SlotTable = std::array<std::array<int, kLabelNames.size()>, kKindCount>;
const SlotTable& label_slots() {
  static const SlotTable table = [] {
    SlotTable t{};
    for (std::size_t k = 0; k < kKindCount; ++k) {
      const LabelSchema& schema = label_schema(static_cast<Kind>(k));
      for (std::size_t id = 0; id < kLabelNames.size(); ++id) {
        t[k][id] = -1;
        for (std::size_t slot = 0; slot < schema.count; ++slot) {
          if (schema.names[slot] == kLabelNames[id]) t[k][id] = static_cast<int>(slot);
        }
      }
    }
    return t;
  }();
  return table;
}

// Bytes that end the fast path of the string scanner: quote, backslash, control characters
// and the lead bytes of multi-byte UTF-8.
constexpr std::array<bool, 256> kStringStop = [] {
  std::array<bool, 256> stop{};
  for (std::size_t c = 0; c < stop.size(); ++c)
    stop[c] = c == '"' || c == '\\' || c < 0x20 || c >= 0x80;
  return stop;
}();

// Skips the bytes of a string that need no attention, eight at a time: the lowest byte
// flagged by these borrow tricks is exact (false flags only appear above a true one).
const char* skip_plain(const char* p, const char* end) {
  if constexpr (std::endian::native == std::endian::little) {
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
    constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
    while (end - p >= 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, p, sizeof w);
      std::uint64_t quote = w ^ (kOnes * '"');
      std::uint64_t backslash = w ^ (kOnes * '\\');
      std::uint64_t stop = ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
                           (w - kOnes * 0x20) | w;  // below 0x20, or 0x80 and above
      stop &= kHigh;
      if (stop != 0) return p + std::countr_zero(stop) / 8;
      p += 8;
    }
  }
  while (p != end && !kStringStop[static_cast<unsigned char>(*p)])
    ++p;
  return p;
}

void append_utf8(std::string& out, std::uint32_t cp) {
  auto byte = [&](std::uint32_t b) { out += static_cast<char>(b); };
  if (cp < 0x80) {
    byte(cp);
  } else if (cp < 0x800) {
    byte(0xC0 | cp >> 6);
    byte(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    byte(0xE0 | cp >> 12);
    byte(0x80 | (cp >> 6 & 0x3F));
    byte(0x80 | (cp & 0x3F));
  } else {
    byte(0xF0 | cp >> 18);
    byte(0x80 | (cp >> 12 & 0x3F));
    byte(0x80 | (cp >> 6 & 0x3F));
    byte(0x80 | (cp & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// Every power of ten a double holds exactly.
constexpr std::array<double, 23> kPow10{1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// For a number from_chars found out of range: whether it is too large rather than too
// small. The decimal exponent of its first significant digit decides; it is beyond +-300
// either way, so a rough count is exact enough.
bool too_large(std::string_view text) {
  if (!text.empty() && text[0] == '-') text.remove_prefix(1);
  std::size_t e = text.find_first_of("eE");
  std::string_view mantissa = text.substr(0, e);
  long long exponent = 0;
  if (e != std::string_view::npos) {
    std::string_view digits = text.substr(e + 1);
    bool negative = !digits.empty() && digits[0] == '-';
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) digits.remove_prefix(1);
    for (char c : digits)
      exponent = std::min(exponent * 10 + (c - '0'), 1'000'000'000LL);
    if (negative) exponent = -exponent;
  }
  std::size_t dot = mantissa.find('.');
  std::string_view whole = mantissa.substr(0, dot);
  long long magnitude = static_cast<long long>(whole.size());
  if (whole == "0") {
    std::string_view fraction = dot == std::string_view::npos ? "" : mantissa.substr(dot + 1);
    magnitude = -static_cast<long long>(std::min(fraction.find_first_not_of('0'), fraction.size()));
  }
  return magnitude + exponent > 0;
}

// A client-supplied name, quoted for an error message when it is short printable ASCII;
// otherwise left out, so that messages stay printable whatever the body held.
std::string echo(std::string_view name) {
  bool safe = name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
                return c >= 0x20 && c < 0x7F && c != '"' && c != '\\';
              });
  return safe ? " \"" + std::string(name) + "\"" : std::string();
}

enum Field : unsigned { kMetric = 1, kSeconds = 2, kCount = 4, kLabels = 8 };

// One observation's members as read, checked against its metric once the object closes.
struct Item {
  unsigned seen = 0;
  Kind kind = Kind::FingerprintGeneration;
  double seconds = 0;
  double count = 0;
  std::array<std::optional<std::string_view>, kLabelNames.size()> labels{};
};

class Parser {
 public:
  Parser(std::string_view body, const BatchLimits& limits, std::vector<Observation>& out,
         std::deque<std::string>& scratch)
      : begin_(body.data()),
        p_(body.data()),
        end_(body.data() + body.size()),
        limits_(limits),
        out_(out),
        scratch_(scratch) {}

  std::optional<BatchError> run() {
    if (document()) return std::nullopt;
    return std::move(error_);
  }

 private:
  // ----- errors ---------------------------------------------------------------------

  // `where` is a path below the current observation (or below the body when there is none).
  bool fail(Reject reason, std::string_view where, std::string_view what) {
    std::string message;
    if (item_) message = "observations[" + std::to_string(*item_) + "]";
    if (!where.empty()) message.append(message.empty() ? "" : ".").append(where);
    message.append(message.empty() ? "" : ": ").append(what);
    error_ = BatchError{item_, reason, std::move(message)};
    return false;
  }
  bool fail_at(std::string_view problem) {
    return fail(
        Reject::Malformed, {},
        "invalid JSON at byte " + std::to_string(p_ - begin_) + ": " + std::string(problem));
  }
  bool fail_syntax(std::string_view expected) {
    if (p_ == end_) {
      return fail(Reject::Malformed, {},
                  "invalid JSON: the body ends early, expected " + std::string(expected));
    }
    return fail_at("expected " + std::string(expected));
  }

  // ----- lexical --------------------------------------------------------------------

  char peek() const { return p_ != end_ ? *p_ : '\0'; }
  void skip_ws() {
    // One compare in the common case: every JSON whitespace byte is <= ' '.
    while (p_ != end_ && static_cast<unsigned char>(*p_) <= ' ' &&
           (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t'))
      ++p_;
  }
  bool at_number() const { return peek() == '-' || is_digit(peek()); }

  // After '{': calls on_member(key) with the cursor on each value, which it must consume.
  template <typename OnMember>
  bool members(OnMember&& on_member) {
    skip_ws();
    if (peek() == '}') {
      ++p_;
      return true;
    }
    while (true) {
      skip_ws();
      if (peek() != '"') return fail_syntax("a string key");
      std::string_view key;
      bool escaped = false;
      if (!string(key_buf_, key, escaped)) return false;
      skip_ws();
      if (peek() != ':') return fail_syntax("':'");
      ++p_;
      skip_ws();
      if (!on_member(key)) return false;
      skip_ws();
      if (peek() == ',') {
        ++p_;
      } else if (peek() == '}') {
        ++p_;
        return true;
      } else {
        return fail_syntax("',' or '}'");
      }
    }
  }

  // At the opening quote. `value` is the raw bytes when the string has no escapes (the
  // common case, no copy), else its decoded form in `buf`.
  bool string(std::string& buf, std::string_view& value, bool& escaped) {
    ++p_;
    const char* run = p_;
    escaped = false;
    while (true) {
      p_ = skip_plain(p_, end_);
      if (p_ == end_) return fail_syntax("'\"' closing the string");
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') break;
      if (c == '\\') {
        if (!escaped) buf.clear();
        escaped = true;
        buf.append(run, p_);
        if (!escape(buf)) return false;
        run = p_;
      } else if (c < 0x20) {
        return fail_at("control character in a string");
      } else {
        std::size_t n = core::utf8_sequence_length(p_, end_);
        if (n == 0) return fail_at("invalid UTF-8");
        p_ += n;
      }
    }
    if (escaped) {
      buf.append(run, p_);
      value = buf;
    } else {
      value = std::string_view(run, static_cast<std::size_t>(p_ - run));
    }
    ++p_;
    return true;
  }

  // At a backslash: appends the character it stands for.
  bool escape(std::string& buf) {
    if (end_ - p_ < 2) return fail_syntax("an escape");
    char c = p_[1];
    static constexpr std::string_view kFrom = "\"\\/bfnrt";
    static constexpr std::string_view kTo = "\"\\/\b\f\n\r\t";
    if (auto i = kFrom.find(c); i != std::string_view::npos) {
      buf += kTo[i];
      p_ += 2;
      return true;
    }
    if (c != 'u') return fail_at("invalid escape");
    p_ += 2;
    std::uint32_t cp = 0;
    if (!hex4(cp)) return false;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return fail_at("lone low surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      std::uint32_t low = 0;
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') {
        return fail_at("high surrogate in \\u escape without its low half");
      }
      p_ += 2;
      if (!hex4(low)) return false;
      if (low < 0xDC00 || low > 0xDFFF) {
        return fail_at("high surrogate in \\u escape without its low half");
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(buf, cp);
    return true;
  }

  bool hex4(std::uint32_t& cp) {
    for (int i = 0; i < 4; ++i, ++p_) {
      int h = p_ != end_ ? hex_value(*p_) : -1;
      if (h < 0) return p_ == end_ ? fail_syntax("4 hex digits") : fail_at("invalid \\u escape");
      cp = cp << 4 | static_cast<std::uint32_t>(h);
    }
    return true;
  }

  // Consumes a run of digits, folding them into `mantissa` (which wraps past 19 digits,
  // harmlessly: the fast path below takes at most 15). Returns how many there were.
  std::size_t digits(std::uint64_t& mantissa) {
    const char* from = p_;
    while (is_digit(peek())) {
      mantissa = mantissa * 10 + static_cast<std::uint64_t>(*p_ - '0');
      ++p_;
    }
    return static_cast<std::size_t>(p_ - from);
  }

  // At '-' or a digit. `integer`: written without fraction or exponent. A magnitude beyond
  // double's range reads as infinity, below it as zero.
  bool number(double& value, bool& integer) {
    const char* start = p_;
    bool negative = peek() == '-';
    if (negative) ++p_;
    std::uint64_t mantissa = 0;
    std::size_t count = 0;
    if (peek() == '0') {
      ++p_;
      count = 1;
    } else if (is_digit(peek())) {
      count = digits(mantissa);
    } else {
      return fail_syntax("a digit");
    }
    integer = true;
    long long scale = 0;
    if (peek() == '.') {
      ++p_;
      integer = false;
      if (!is_digit(peek())) return fail_syntax("a digit after '.'");
      std::size_t fraction = digits(mantissa);
      count += fraction;
      scale = -static_cast<long long>(fraction);
    }
    if (peek() == 'e' || peek() == 'E') {
      ++p_;
      integer = false;
      bool down = peek() == '-';
      if (peek() == '+' || peek() == '-') ++p_;
      if (!is_digit(peek())) return fail_syntax("a digit in the exponent");
      long long exponent = 0;
      for (; is_digit(peek()); ++p_)
        exponent = std::min(exponent * 10 + (*p_ - '0'), 1'000'000'000LL);
      scale += down ? -exponent : exponent;
    }
    if (count <= 15 && scale >= -22 && scale <= 22) {
      // Clinger's fast path: both operands are exact doubles (< 2^53 and 10^22), so the one
      // rounding of the multiplication or division gives the correctly rounded value.
      auto m = static_cast<double>(mantissa);
      value = scale < 0 ? m / kPow10[static_cast<std::size_t>(-scale)]
                        : m * kPow10[static_cast<std::size_t>(scale)];
      if (negative) value = -value;
      return true;
    }
    return slow_number(start, value);
  }

  // Any other number [start, p_): many digits or a large exponent.
  bool slow_number(const char* start, double& value) {
    auto res = std::from_chars(start, p_, value);
    if (res.ec == std::errc::result_out_of_range) {
      std::string_view text(start, static_cast<std::size_t>(p_ - start));
      value = too_large(text) ? std::numeric_limits<double>::infinity() : 0.0;
      if (*start == '-') value = -value;
    } else if (res.ec != std::errc() || res.ptr != p_) {
      return fail_at("unreadable number");
    }
    return true;
  }

  // ----- the wire format --------------------------------------------------------------

  bool document() {
    out_.clear();
    scratch_.clear();
    skip_ws();
    if (p_ == end_) return fail(Reject::Malformed, {}, "the body is empty");
    if (peek() != '{') return fail(Reject::Malformed, {}, "the body must be a JSON object");
    ++p_;
    unsigned seen = 0;
    bool ok = members([&](std::string_view key) {
      unsigned bit = is(key, "observations") ? 1U : is(key, "version") ? 2U : 0U;
      if (bit == 0) return fail(Reject::Malformed, {}, "unknown field" + echo(key));
      if (seen & bit) return fail(Reject::Malformed, {}, "duplicate field" + echo(key));
      seen |= bit;
      return bit == 1 ? observations() : version();
    });
    if (!ok) return false;
    skip_ws();
    if (p_ != end_) return fail_at("unexpected data after the JSON object");
    if (!(seen & 1U)) return fail(Reject::Malformed, {}, "missing field \"observations\"");
    return true;
  }

  bool version() {
    double v = 0;
    bool integer = false;
    if (!at_number()) return fail(Reject::Malformed, "version", "must be 1");
    if (!number(v, integer)) return false;
    if (v != 1) return fail(Reject::Malformed, "version", "must be 1");
    return true;
  }

  bool observations() {
    if (peek() != '[') return fail(Reject::Malformed, "observations", "must be an array");
    ++p_;
    skip_ws();
    if (peek() == ']') {
      ++p_;
      return true;
    }
    for (std::size_t index = 0;; ++index) {
      if (index == limits_.max_items) {
        item_.reset();  // the batch is at fault, not an observation
        return fail(Reject::TooManyItems, "observations",
                    "more than " + std::to_string(limits_.max_items) + " items");
      }
      item_ = index;
      skip_ws();
      if (!item()) return false;
      skip_ws();
      if (peek() == ']') {
        ++p_;
        item_.reset();
        return true;
      }
      if (peek() != ',') return fail_syntax("',' or ']'");
      ++p_;
    }
  }

  bool item() {
    if (peek() != '{') return fail(Reject::Malformed, {}, "must be an object");
    ++p_;
    Item item;
    bool ok = members([&](std::string_view key) {
      unsigned bit = is(key, "metric")    ? kMetric
                     : is(key, "seconds") ? kSeconds
                     : is(key, "count")   ? kCount
                     : is(key, "labels")  ? kLabels
                                          : 0U;
      if (bit == 0) return fail(Reject::Malformed, {}, "unknown field" + echo(key));
      if (item.seen & bit) return fail(Reject::Malformed, {}, "duplicate field" + echo(key));
      item.seen |= bit;
      switch (bit) {
        case kMetric:
          return metric(item);
        case kSeconds:
          return seconds(item);
        case kCount:
          return count(item);
        default:
          return labels(item);
      }
    });
    return ok && finish(item);
  }

  bool metric(Item& item) {
    if (peek() != '"') return fail(Reject::Malformed, "metric", "must be a string");
    std::string_view name;
    bool escaped = false;
    if (!string(value_buf_, name, escaped)) return false;
    auto kind = kind_from_wire(name);
    if (!kind) return fail(Reject::UnknownMetric, "metric", "unknown metric" + echo(name));
    item.kind = *kind;
    return true;
  }

  bool seconds(Item& item) {
    if (!at_number()) return fail(Reject::Malformed, "seconds", "must be a number");
    bool integer = false;
    if (!number(item.seconds, integer)) return false;
    if (!std::isfinite(item.seconds) || item.seconds < 0) {
      return fail(Reject::InvalidValue, "seconds", kSecondsRule);
    }
    item.seconds += 0.0;  // -0 reads as 0
    return true;
  }

  bool count(Item& item) {
    if (!at_number()) return fail(Reject::Malformed, "count", "must be a number");
    const char* start = p_;
    bool integer = false;
    double v = 0;
    if (!number(v, integer)) return false;
    bool ok = v >= 0 && v <= kMaxCount && v == std::trunc(v);
    if (ok && v == kMaxCount && integer) {
      // 2^53 + 1 rounds to 2^53 as a double; the digits tell.
      std::uint64_t n = 0;
      auto res = std::from_chars(start, p_, n);
      ok = res.ec == std::errc() && n <= (std::uint64_t{1} << 53);
    }
    if (!ok) return fail(Reject::InvalidValue, "count", kCountRule);
    item.count = v + 0.0;
    return true;
  }

  bool labels(Item& item) {
    if (peek() != '{') return fail(Reject::Malformed, "labels", "must be an object");
    ++p_;
    return members([&](std::string_view key) {
      auto id = label_id(key);
      if (!id) return fail(Reject::UnknownLabel, "labels", "unknown label" + echo(key));
      std::string_view where = kLabelPaths[*id];
      if (item.labels[*id]) return fail(Reject::Malformed, where, "duplicate label");
      if (peek() != '"') return fail(Reject::Malformed, where, "must be a string");
      std::string_view value;
      bool escaped = false;
      if (!string(value_buf_, value, escaped)) return false;
      if (value.size() > limits_.max_label_value_length) {
        return fail(Reject::LabelTooLong, where,
                    "longer than " + std::to_string(limits_.max_label_value_length) + " bytes");
      }
      if (escaped) value = scratch_.emplace_back(value);
      item.labels[*id] = value;
      return true;
    });
  }

  // The members are all read: check them against the metric and emit the observation.
  bool finish(const Item& item) {
    if (!(item.seen & kMetric)) return fail(Reject::Malformed, {}, "missing field \"metric\"");
    bool wants_seconds = item.kind != Kind::Identification && item.kind != Kind::FingerprintHashes;
    bool wants_count = item.kind == Kind::FingerprintHashes;
    if (wants_seconds && !(item.seen & kSeconds)) {
      return fail(Reject::Malformed, {}, "missing field \"seconds\"");
    }
    if (!wants_seconds && (item.seen & kSeconds)) {
      return fail(Reject::Malformed, "seconds", not_of(item.kind));
    }
    if (wants_count && !(item.seen & kCount)) {
      return fail(Reject::Malformed, {}, "missing field \"count\"");
    }
    if (!wants_count && (item.seen & kCount))
      return fail(Reject::Malformed, "count", not_of(item.kind));

    Observation o;
    o.kind = item.kind;
    o.value = item.kind == Kind::Identification      ? 1.0
              : item.kind == Kind::FingerprintHashes ? item.count
                                                     : item.seconds;
    if (!take_labels(item, o)) return false;
    out_.push_back(o);
    return true;
  }

  static std::string not_of(Kind kind) {
    return "not a field of metric \"" + std::string(wire_name(kind)) + "\"";
  }

  bool take_labels(const Item& item, Observation& o) {
    const auto& slots = label_slots()[static_cast<std::size_t>(item.kind)];
    const LabelSchema& schema = label_schema(item.kind);
    std::array<bool, 3> filled{};
    for (std::size_t id = 0; id < kLabelNames.size(); ++id) {
      if (!item.labels[id]) continue;
      if (slots[id] < 0) {
        return fail(Reject::UnknownLabel, kLabelPaths[id],
                    "not a label of metric \"" + std::string(wire_name(item.kind)) + "\"");
      }
      auto slot = static_cast<std::size_t>(slots[id]);
      o.labels[slot] = *item.labels[id];
      filled[slot] = true;
    }
    for (std::size_t slot = 0; slot < schema.count; ++slot) {
      if (!filled[slot]) {
        return fail(Reject::MissingLabel, "labels",
                    "missing label \"" + std::string(schema.names[slot]) + "\"");
      }
    }
    return true;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const BatchLimits& limits_;
  std::vector<Observation>& out_;
  std::deque<std::string>& scratch_;
  std::optional<std::size_t> item_;  // the observation being read
  std::optional<BatchError> error_;
  std::string key_buf_;    // decoded keys that had escapes
  std::string value_buf_;  // decoded values that had escapes, before they go to scratch
};

}  // namespace

std::optional<BatchError> parse_batch(std::string_view body, const BatchLimits& limits,
                                      std::vector<Observation>& out,
                                      std::deque<std::string>& scratch) {
  return Parser(body, limits, out, scratch).run();
}

}  // namespace afp::pipeline
