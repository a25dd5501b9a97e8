#include "metrics/text_writer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace afp::metrics {

namespace {

// Builds text in a stack buffer and hands it to the string in few appends: libstdc++
// instantiates std::string's members in the shared library, so they are never inlined and
// each `out += c` costs a call through the PLT; a scrape writes tens of thousands of pieces.
class Buf {
 public:
  explicit Buf(std::string& out) : out_(out) {}
  ~Buf() { flush(); }
  Buf(const Buf&) = delete;
  Buf& operator=(const Buf&) = delete;

  void put(char c) {
    if (n_ == buf_.size()) flush();
    buf_[n_++] = c;
  }
  void put(std::string_view s) {
    if (s.size() > buf_.size() - n_) {
      flush();
      if (s.size() > buf_.size()) {
        out_.append(s);
        return;
      }
    }
    std::memcpy(buf_.data() + n_, s.data(), s.size());
    n_ += s.size();
  }
  void flush() {
    out_.append(buf_.data(), n_);
    n_ = 0;
  }

 private:
  std::string& out_;
  std::array<char, 1024> buf_;
  std::size_t n_ = 0;
};

std::string_view type_name(MetricType type) {
  switch (type) {
    case MetricType::Counter:
      return "counter";
    case MetricType::Gauge:
      return "gauge";
    case MetricType::Summary:
      return "summary";
    case MetricType::Histogram:
      return "histogram";
    case MetricType::Untyped:
      break;
  }
  return "untyped";
}

// Escapes `specials` (and newline as \n) in runs, so plain text is copied in one piece.
void put_escaped(Buf& out, std::string_view text, bool escape_quote) {
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' || c == '\n' || (escape_quote && c == '"')) {
      out.put(text.substr(start, i - start));
      out.put('\\');
      out.put(c == '\n' ? 'n' : c);
      start = i + 1;
    }
  }
  out.put(text.substr(start));
}

template <typename Int>
void put_int(Buf& out, Int value) {
  std::array<char, 24> buf{};
  auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  out.put(std::string_view(buf.data(), static_cast<std::size_t>(res.ptr - buf.data())));
}

// Integral values below 2^53 print identically under %.16g and as integers, and the
// integer path is several times faster; most exported values (bytes, counts) take it.
bool is_exact_integer(double value) {
  constexpr double kLimit = 9007199254740992.0;  // 2^53
  return value > -kLimit && value < kLimit && value == std::trunc(value) &&
         !(value == 0 && std::signbit(value));
}

void put_value(Buf& out, double value) {
  if (std::isnan(value)) {
    out.put("Nan");
  } else if (std::isinf(value)) {
    out.put(value < 0 ? "-Inf" : "+Inf");
  } else if (is_exact_integer(value)) {
    put_int(out, static_cast<std::int64_t>(value));
  } else {
    std::array<char, 40> buf{};
    auto res = std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::general,
                             std::numeric_limits<double>::digits10 + 1);
    out.put(std::string_view(buf.data(), static_cast<std::size_t>(res.ptr - buf.data())));
  }
}

template <typename LabelRange>
void put_head(Buf& out, std::string_view name, std::string_view suffix, const LabelRange& labels) {
  out.put(name);
  out.put(suffix);
  if (std::begin(labels) != std::end(labels)) {
    char sep = '{';
    for (const auto& label : labels) {
      out.put(sep);
      out.put(label.name);
      out.put("=\"");
      put_escaped(out, label.value, true);
      out.put('"');
      sep = ',';
    }
    out.put('}');
  }
  out.put(' ');
}

}  // namespace

void append_uint(std::string& out, std::uint64_t value) {
  Buf buf(out);
  put_int(buf, value);
}

void append_value(std::string& out, double value) {
  Buf buf(out);
  put_value(buf, value);
}

void append_escaped(std::string& out, std::string_view value) {
  Buf buf(out);
  put_escaped(buf, value, true);
}

void TextWriter::family(std::string_view name, std::string_view help, MetricType type) {
  current_.assign(name);
  Buf out(out_);
  if (!help.empty()) {
    out.put("# HELP ");
    out.put(name);
    out.put(' ');
    put_escaped(out, help, false);
    out.put('\n');
  }
  out.put("# TYPE ");
  out.put(name);
  out.put(' ');
  out.put(type_name(type));
  out.put('\n');
}

void TextWriter::sample(std::string_view suffix, Labels labels, double value) {
  Buf out(out_);
  put_head(out, current_, suffix, labels);
  put_value(out, value);
  out.put('\n');
}

void TextWriter::sample(std::string_view suffix, const std::vector<LabelRef>& labels,
                        double value) {
  Buf out(out_);
  put_head(out, current_, suffix, labels);
  put_value(out, value);
  out.put('\n');
}

void TextWriter::sample_rendered(std::string_view rendered_labels, double value) {
  Buf out(out_);
  out.put(current_);
  out.put(rendered_labels);
  out.put(' ');
  put_value(out, value);
  out.put('\n');
}

std::string render_labels(const std::vector<LabelRef>& labels) {
  std::string out;
  {
    Buf buf(out);
    put_head(buf, "", "", labels);
  }
  out.pop_back();  // put_head ends with the space before the value
  return out;
}

}  // namespace afp::metrics
