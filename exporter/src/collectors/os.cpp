// os: node_os_info and node_os_version from os-release(5) under --path.rootfs:
// etc/os-release, or usr/lib/os-release when that is absent, as node_exporter 1.5 reads it.
#include <algorithm>
#include <array>
#include <optional>
#include <string>

#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"
#include "core/ascii.h"
#include "core/utf8.h"

namespace afp::collectors {

namespace {

// The os-release keys node_exporter labels node_os_info with, and their label names
// (sorted, as node_exporter writes them).
struct Field {
  std::string_view key;
  std::string_view label;
};
constexpr std::array<Field, 12> kFields{{
    {"BUILD_ID", "build_id"},
    {"ID", "id"},
    {"ID_LIKE", "id_like"},
    {"IMAGE_ID", "image_id"},
    {"IMAGE_VERSION", "image_version"},
    {"NAME", "name"},
    {"PRETTY_NAME", "pretty_name"},
    {"VARIANT", "variant"},
    {"VARIANT_ID", "variant_id"},
    {"VERSION", "version"},
    {"VERSION_CODENAME", "version_codename"},
    {"VERSION_ID", "version_id"},
}};
using Values = std::array<std::string, kFields.size()>;

std::optional<std::size_t> field_index(std::string_view key) {
  for (std::size_t i = 0; i < kFields.size(); ++i) {
    if (kFields[i].key == key) return i;
  }
  return std::nullopt;
}

// A double-quoted shell word: backslash escapes $ ` " \ and newline, anything else
// stays as written. nullopt when the closing quote is missing or text follows it.
std::optional<std::string> unquote_double(std::string_view v) {
  std::string out;
  for (std::size_t i = 1; i < v.size(); ++i) {
    char c = v[i];
    if (c == '"') {
      if (i + 1 != v.size()) return std::nullopt;
      return out;
    }
    if (c == '\\' && i + 1 < v.size() && std::string_view("$`\"\\").find(v[i + 1]) != v.npos) {
      c = v[++i];
    }
    out += c;
  }
  return std::nullopt;
}

// The value of a KEY=value line, quoted or not; nullopt when it is not one.
std::optional<std::string> parse_value(std::string_view v) {
  if (v.empty()) return std::string();
  if (v.front() == '"') return unquote_double(v);
  if (v.front() == '\'') {
    if (v.size() < 2 || v.back() != '\'') return std::nullopt;
    v = v.substr(1, v.size() - 2);
    if (v.find('\'') != v.npos) return std::nullopt;
    return std::string(v);
  }
  if (v.find_first_of(" \t\"'\\$`") != v.npos) return std::nullopt;
  return std::string(v);
}

bool is_key(std::string_view key) {
  return !key.empty() && std::all_of(key.begin(), key.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// Later lines win, as when a shell sources the file.
Values parse(std::string_view text, std::uint64_t& malformed) {
  Values values;
  for_each_line(text, [&](std::string_view line) {
    line = core::trim_space(line);
    if (line.empty() || line.front() == '#') return;
    auto eq = line.find('=');
    auto key = line.substr(0, eq);
    auto value = eq == line.npos ? std::nullopt : parse_value(line.substr(eq + 1));
    if (!is_key(key) || !value || !core::valid_utf8(*value)) {
      ++malformed;
      return;
    }
    if (auto i = field_index(key)) values[*i] = std::move(*value);
  });
  return values;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// node_exporter's ^[0-9]+\.?[0-9]* of VERSION_ID: "22.04.3" gives 22.04, "rolling" none.
std::optional<double> major_minor(std::string_view version_id) {
  std::size_t end = 0;
  while (end < version_id.size() && is_digit(version_id[end]))
    ++end;
  if (end == 0) return std::nullopt;
  if (end < version_id.size() && version_id[end] == '.') {
    ++end;
    while (end < version_id.size() && is_digit(version_id[end]))
      ++end;
  }
  auto text = version_id.substr(0, end);
  if (text.back() == '.') text.remove_suffix(1);
  return parse_double(text);
}

class OsCollector final : public Collector {
 public:
  explicit OsCollector(const CollectorSettings& settings)
      : etc_(join_path(settings.rootfs, "etc/os-release")),
        usr_lib_(join_path(settings.rootfs, "usr/lib/os-release")) {}

  // Read on every scrape, not kept open: upgrades replace the file by renaming over it.
  void collect(ScrapeContext& ctx) override {
    auto text = try_read_file(etc_);
    if (!text) text = try_read_file(usr_lib_);
    if (!text) throw CollectError("cannot read " + etc_ + " or " + usr_lib_);
    auto values = parse(*text, ctx.malformed_lines);
    write_info(ctx.out, values);
    write_version(ctx.out, values);
  }

 private:
  static void write_info(metrics::TextWriter& out, const Values& values) {
    std::vector<metrics::LabelRef> labels;
    for (std::size_t i = 0; i < kFields.size(); ++i)
      labels.push_back({kFields[i].label, values[i]});
    out.family("node_os_info",
               "A metric with a constant '1' value labeled by build_id, id, id_like, image_id, "
               "image_version, name, pretty_name, variant, variant_id, version, "
               "version_codename, version_id.",
               metrics::MetricType::Gauge);
    out.sample("", labels, 1);
  }

  // node_exporter leaves the version out when VERSION_ID has no number to offer.
  static void write_version(metrics::TextWriter& out, const Values& values) {
    auto version = major_minor(values[*field_index("VERSION_ID")]);
    if (!version || *version <= 0) return;
    out.family("node_os_version", "Metric containing the major.minor part of the OS version.",
               metrics::MetricType::Gauge);
    out.sample({{"id", values[*field_index("ID")]},
                {"id_like", values[*field_index("ID_LIKE")]},
                {"name", values[*field_index("NAME")]}},
               *version);
  }

  std::string etc_;
  std::string usr_lib_;
};

}  // namespace

std::unique_ptr<Collector> make_os_collector(const CollectorSettings& settings) {
  return std::make_unique<OsCollector>(settings);
}

}  // namespace afp::collectors
