// stat: node_exporter's stat collector, from the non-CPU lines of /proc/stat: boot time,
// context switches, interrupts, forks, and the running and blocked process counts.
#include <array>
#include <optional>
#include <string>
#include <vector>

#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

struct StatLine {
  std::string_view key;  // first field of the /proc/stat line
  std::string_view name;
  std::string_view help;
  metrics::MetricType type;
};

constexpr std::array<StatLine, 6> kLines{{
    {"btime", "node_boot_time_seconds", "Node boot time, in unixtime.", metrics::MetricType::Gauge},
    {"ctxt", "node_context_switches_total", "Total number of context switches.",
     metrics::MetricType::Counter},
    {"processes", "node_forks_total", "Total number of forks.", metrics::MetricType::Counter},
    {"intr", "node_intr_total", "Total number of interrupts serviced.",
     metrics::MetricType::Counter},
    {"procs_blocked", "node_procs_blocked",
     "Number of processes blocked waiting for I/O to complete.", metrics::MetricType::Gauge},
    {"procs_running", "node_procs_running", "Number of processes in runnable state.",
     metrics::MetricType::Gauge},
}};

using Values = std::array<std::optional<std::uint64_t>, kLines.size()>;

std::optional<std::size_t> index_of(std::string_view key) {
  for (std::size_t i = 0; i < kLines.size(); ++i) {
    if (kLines[i].key == key) return i;
  }
  return std::nullopt;
}

// Only the first number of a line counts (intr goes on with one count per interrupt). A
// key given twice is malformed: the first line wins, so no family is written twice.
Values parse(std::string_view text, std::uint64_t& malformed) {
  Values values;
  std::vector<std::string_view> fields;
  for_each_line(text, [&](std::string_view line) {
    split_fields(line, fields);
    if (fields.empty()) return;
    auto i = index_of(fields[0]);
    if (!i) return;
    auto v = fields.size() >= 2 ? parse_u64(fields[1]) : std::nullopt;
    if (!v || values[*i]) {
      ++malformed;
      return;
    }
    values[*i] = v;
  });
  return values;
}

class StatCollector final : public Collector {
 public:
  explicit StatCollector(const CollectorSettings& settings)
      : stat_(join_path(settings.procfs, "stat"), ProcFile::Kind::single_shot) {}

  void collect(ScrapeContext& ctx) override {
    std::string text;
    stat_.read(text);
    auto values = parse(text, ctx.malformed_lines);
    for (std::size_t i = 0; i < kLines.size(); ++i) {
      if (!values[i]) continue;
      ctx.out.family(kLines[i].name, kLines[i].help, kLines[i].type);
      ctx.out.sample({}, static_cast<double>(*values[i]));
    }
  }

 private:
  ProcFile stat_;
};

}  // namespace

std::unique_ptr<Collector> make_stat_collector(const CollectorSettings& settings) {
  return std::make_unique<StatCollector>(settings);
}

}  // namespace afp::collectors
