// vmstat: node_vmstat_<field> from /proc/vmstat, for the fields node_exporter exports by
// default (its --collector.vmstat.fields default, ^(oom_kill|pgpg|pswp|pg.*fault).*).
#include <algorithm>
#include <string>
#include <vector>

#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

constexpr std::string_view kPrefix = "node_vmstat_";

// node_exporter's default field regexp, spelt out: std::regex would cost more than the
// rest of the scrape.
bool exported_by_default(std::string_view field) {
  return field.starts_with("oom_kill") || field.starts_with("pgpg") || field.starts_with("pswp") ||
         (field.starts_with("pg") && field.find("fault", 2) != std::string_view::npos);
}

bool is_name(std::string_view field) {
  return std::all_of(field.begin(), field.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

class VmstatCollector final : public Collector {
 public:
  explicit VmstatCollector(const CollectorSettings& settings)
      : file_(join_path(settings.procfs, "vmstat"), ProcFile::Kind::single_shot) {}

  void collect(ScrapeContext& ctx) override {
    std::string text;
    file_.read(text);
    std::vector<std::string_view> fields;
    std::vector<std::string_view> seen;  // a field given twice is malformed: first one wins
    std::string name;
    std::string help;
    for_each_line(text, [&](std::string_view line) {
      split_fields(line, fields);
      if (fields.empty() || !exported_by_default(fields[0])) return;
      auto value = fields.size() == 2 ? parse_u64(fields[1]) : std::nullopt;
      if (!value || !is_name(fields[0]) ||
          std::find(seen.begin(), seen.end(), fields[0]) != seen.end()) {
        ++ctx.malformed_lines;
        return;
      }
      seen.push_back(fields[0]);
      name.assign(kPrefix);
      name.append(fields[0]);
      help.assign("/proc/vmstat information field ");
      help.append(fields[0]);
      help += '.';
      // Untyped, as node_exporter has it: the file mixes counters and gauges.
      ctx.out.family(name, help, metrics::MetricType::Untyped);
      ctx.out.sample({}, static_cast<double>(*value));
    });
  }

 private:
  ProcFile file_;
};

}  // namespace

std::unique_ptr<Collector> make_vmstat_collector(const CollectorSettings& settings) {
  return std::make_unique<VmstatCollector>(settings);
}

}  // namespace afp::collectors
