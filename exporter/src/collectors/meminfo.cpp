// meminfo: node_memory_<Field>_bytes (kB lines) and node_memory_<Field> (unit-less lines),
// one gauge per /proc/meminfo line, named and described as node_exporter 1.5.0 does.
#include <algorithm>
#include <string>
#include <vector>

#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

constexpr std::string_view kPrefix = "node_memory_";
constexpr std::string_view kHelpPrefix = "Memory information field ";

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == ':';
}

// Appends the field name as node_exporter spells it: the kernel's "Active(anon)" becomes
// "Active_anon" (its regexp `\((.*)\)` -> "_$1", greedy, so first '(' to last ')').
// False when the result is not a valid metric-name fragment.
bool append_sanitised(std::string& out, std::string_view key) {
  auto open = key.find('(');
  if (open != std::string_view::npos) {
    auto close = key.rfind(')');
    if (close != std::string_view::npos && close > open) {
      out.append(key.substr(0, open));
      out += '_';
      out.append(key.substr(open + 1, close - open - 1));
      out.append(key.substr(close + 1));
    } else {
      out.append(key);
    }
  } else {
    out.append(key);
  }
  for (std::size_t i = kPrefix.size(); i < out.size(); ++i) {
    if (!is_name_char(out[i])) return false;
  }
  return true;
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

class MeminfoCollector final : public Collector {
 public:
  explicit MeminfoCollector(const CollectorSettings& settings)
      : file_(join_path(settings.procfs, "meminfo"), ProcFile::Kind::single_shot) {}

  void collect(ScrapeContext& ctx) override {
    std::string text;
    file_.read(text);
    std::vector<std::string_view> fields;
    std::vector<std::string_view> seen;  // raw keys: a key given twice is malformed
    seen.reserve(64);
    std::vector<std::string> names;  // families written, to never write one twice
    names.reserve(64);
    std::string name;
    std::string help;
    bool has_total = false;
    for_each_line(text, [&](std::string_view line) {
      split_fields(line, fields);
      if (fields.empty()) return;  // node_exporter skips blank lines too
      auto value = fields.size() >= 2 ? parse_u64(fields[1]) : std::nullopt;
      bool has_unit = fields.size() == 3;
      std::string_view key = fields[0];
      bool ok = value && (fields.size() == 2 || (has_unit && fields[2] == "kB")) &&
                key.size() >= 2 && key.back() == ':';
      if (ok) {
        key.remove_suffix(1);
        for (auto k : seen) {
          if (k == key) ok = false;
        }
      }
      if (ok) {
        name.assign(kPrefix);
        ok = append_sanitised(name, key);
        if (has_unit) name += "_bytes";
      }
      // Distinct keys can spell one name (Active(anon) and Active_anon, X in kB and
      // X_bytes), and Prometheus refuses a scrape that declares a family twice: the first
      // line wins, as for a repeated key.
      if (ok && std::find(names.begin(), names.end(), name) != names.end()) ok = false;
      if (!ok) {
        ++ctx.malformed_lines;
        return;
      }
      seen.push_back(key);
      names.push_back(name);
      double v = static_cast<double>(*value);
      if (has_unit) v *= 1024.0;
      if (key == "MemTotal" && has_unit) has_total = true;
      std::string_view field = std::string_view(name).substr(kPrefix.size());
      help.assign(kHelpPrefix);
      help.append(field);
      help += '.';
      // node_exporter types a field as a counter when its name ends in "_total".
      ctx.out.family(
          name, help,
          ends_with(field, "_total") ? metrics::MetricType::Counter : metrics::MetricType::Gauge);
      ctx.out.sample({}, v);
    });
    if (!has_total) throw CollectError("no MemTotal line in " + file_.path());
  }

 private:
  ProcFile file_;
};

}  // namespace

std::unique_ptr<Collector> make_meminfo_collector(const CollectorSettings& settings) {
  return std::make_unique<MeminfoCollector>(settings);
}

}  // namespace afp::collectors
