#include "pipeline/statsd_parser.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

#include "core/utf8.h"

namespace afp::pipeline {
namespace {

constexpr std::string_view kPrefix = "afp.";

struct Sections {
  std::string_view name;
  std::string_view value;
  std::string_view type;
  std::optional<std::string_view> rate;  // after '@'
  std::optional<std::string_view> tags;  // after '#'
};

// Control bytes never belong in a statsd line; refusing them here keeps NULs and newlines
// out of label values and so out of the exposition.
bool has_control_byte(std::string_view line) {
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return true;
  }
  return false;
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// DogStatsD sections that carry nothing the exporter uses; accepting them keeps lines from
// newer clients (container id, external data, client timestamp) from being refused.
bool is_ignored_extension(std::string_view section) {
  if (section.starts_with("c:") || section.starts_with("e:")) return true;
  return section.starts_with('T') && all_digits(section.substr(1));
}

bool read_section(std::string_view section, Sections& out) {
  if (section.empty()) return false;
  auto& slot = section[0] == '@' ? out.rate : out.tags;
  if (section[0] == '@' || section[0] == '#') {
    if (slot) return false;  // a repeated rate or tag section is ambiguous
    slot = section.substr(1);
    return true;
  }
  return is_ignored_extension(section);
}

bool split_sections(std::string_view line, Sections& out) {
  auto pipe = line.find('|');
  if (pipe == std::string_view::npos) return false;
  auto head = line.substr(0, pipe);
  auto colon = head.find(':');
  if (colon == std::string_view::npos) return false;
  out.name = head.substr(0, colon);
  out.value = head.substr(colon + 1);
  auto rest = line.substr(pipe + 1);
  pipe = rest.find('|');
  out.type = rest.substr(0, pipe);
  if (out.type.empty()) return false;
  while (pipe != std::string_view::npos) {
    rest = rest.substr(pipe + 1);
    pipe = rest.find('|');
    if (!read_section(rest.substr(0, pipe), out)) return false;
  }
  return true;
}

// A finite decimal number >= 0, with an optional leading '+' (Go's ParseFloat, which
// statsd clients are tested against, takes one).
std::optional<double> parse_number(std::string_view text) {
  if (text.starts_with('+')) text.remove_prefix(1);
  if (text.empty() || text[0] == '-' || text[0] == '+') return std::nullopt;
  double value = 0;
  auto end = text.data() + text.size();
  auto res = std::from_chars(text.data(), end, value, std::chars_format::general);
  if (res.ec != std::errc() || res.ptr != end || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<std::uint32_t> parse_weight(std::string_view rate) {
  auto r = parse_number(rate);
  if (!r || !(*r > 0) || *r > 1) return std::nullopt;
  double events = std::round(1 / *r);
  if (!(events <= std::numeric_limits<std::uint32_t>::max())) return std::nullopt;
  return static_cast<std::uint32_t>(events);
}

bool is_histogram(Kind kind) {
  return kind == Kind::FingerprintGeneration || kind == Kind::ApiRequest || kind == Kind::DbQuery;
}

// What the wire value is divided by to get the observation's unit; nullopt when the type
// does not suit the metric. Dividing (not multiplying by 1e-3) makes 2310 ms exactly the
// double 2.31.
std::optional<double> unit_divisor(Kind kind, std::string_view type) {
  if (is_histogram(kind)) {
    if (type == "ms") return 1000.0;
    if (type == "h" || type == "d") return 1.0;
    return std::nullopt;
  }
  if (type == "c") return 1.0;
  return std::nullopt;
}

// Identifications and hashes are whole events; the HTTP transport takes integers up to 2^53
// for them too, the largest range in which a double counts every integer.
bool valid_count(Kind kind, double value) {
  if (kind != Kind::Identification && kind != Kind::FingerprintHashes) return true;
  return value == std::floor(value) && value <= 9007199254740992.0;
}

std::optional<Reject> read_labels(std::string_view tags, Observation& out) {
  const auto& schema = label_schema(out.kind);
  std::array<bool, 3> seen{};
  while (!tags.empty()) {
    auto comma = tags.find(',');
    auto item = tags.substr(0, comma);
    tags = comma == std::string_view::npos ? std::string_view{} : tags.substr(comma + 1);
    auto colon = item.find(':');
    if (colon == std::string_view::npos) continue;  // a bare tag is never a label value
    auto key = item.substr(0, colon);
    for (std::size_t i = 0; i < schema.count; ++i) {
      if (schema.names[i] != key) continue;
      auto value = item.substr(colon + 1);
      if (seen[i] || !core::valid_utf8(value)) return Reject::Malformed;
      seen[i] = true;
      out.labels[i] = value;
    }
  }
  for (std::size_t i = 0; i < schema.count; ++i) {
    if (!seen[i] || out.labels[i].empty()) return Reject::MissingLabel;
  }
  return std::nullopt;
}

}  // namespace

std::optional<Reject> parse_statsd_line(std::string_view line, Observation& out) {
  Sections s;
  if (line.size() > kMaxStatsdLine || has_control_byte(line) || !split_sections(line, s)) {
    return Reject::Malformed;
  }
  if (!s.name.starts_with(kPrefix)) return Reject::UnknownMetric;
  auto kind = kind_from_wire(s.name.substr(kPrefix.size()));
  if (!kind) return Reject::UnknownMetric;
  auto divisor = unit_divisor(*kind, s.type);
  if (!divisor) return Reject::UnsupportedType;
  auto value = parse_number(s.value);
  if (!value || !valid_count(*kind, *value)) return Reject::InvalidValue;
  out = Observation{};
  out.kind = *kind;
  out.value = *value / *divisor;
  if (s.rate) {
    auto weight = parse_weight(*s.rate);
    if (!weight) return Reject::Malformed;
    out.weight = *weight;
  }
  // The Store adds value * weight; refusing an overflow here keeps +Inf out of the sums.
  if (!std::isfinite(out.value * out.weight)) return Reject::InvalidValue;
  return read_labels(s.tags.value_or(std::string_view{}), out);
}

std::size_t parse_statsd_datagram(std::string_view datagram, std::vector<Observation>& out,
                                  RejectCounts& rejected) {
  std::size_t parsed = 0;
  while (!datagram.empty()) {
    auto nl = datagram.find('\n');
    auto line = datagram.substr(0, nl);
    datagram = nl == std::string_view::npos ? std::string_view{} : datagram.substr(nl + 1);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.empty()) continue;
    auto& obs = out.emplace_back();
    if (auto reject = parse_statsd_line(line, obs)) {
      out.pop_back();
      ++rejected[static_cast<std::size_t>(*reject)];
      continue;
    }
    ++parsed;
  }
  return parsed;
}

}  // namespace afp::pipeline
