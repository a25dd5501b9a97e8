// cpu: node_cpu_seconds_total{cpu,mode} and node_cpu_guest_seconds_total{cpu,mode}.
#include <array>
#include <string>
#include <vector>

#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

// /proc/stat counts in USER_HZ, which the kernel fixes at 100 for user space.
constexpr double kUserHz = 100.0;
constexpr std::array<std::string_view, 8> kModes{"user",   "nice", "system",  "idle",
                                                 "iowait", "irq",  "softirq", "steal"};

struct CpuTimes {
  std::string cpu;
  std::array<double, 10> ticks{};  // the eight modes, then guest and guest_nice
  std::size_t fields = 0;
};

class CpuCollector final : public Collector {
 public:
  explicit CpuCollector(const CollectorSettings& settings)
      : stat_(join_path(settings.procfs, "stat"), ProcFile::Kind::single_shot) {}

  void collect(ScrapeContext& ctx) override {
    std::string text;
    stat_.read(text);
    auto cpus = parse(text, ctx.malformed_lines);
    if (cpus.empty()) throw CollectError("no per-CPU lines in " + stat_.path());
    auto& out = ctx.out;
    out.family("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.",
               metrics::MetricType::Counter);
    for (const auto& c : cpus) {
      for (std::size_t m = 0; m < kModes.size() && m < c.fields; ++m) {
        out.sample({{"cpu", c.cpu}, {"mode", kModes[m]}}, c.ticks[m] / kUserHz);
      }
    }
    out.family("node_cpu_guest_seconds_total",
               "Seconds the CPUs spent in guests (VMs) for each mode.",
               metrics::MetricType::Counter);
    for (const auto& c : cpus) {
      if (c.fields > 8) out.sample({{"cpu", c.cpu}, {"mode", "user"}}, c.ticks[8] / kUserHz);
      if (c.fields > 9) out.sample({{"cpu", c.cpu}, {"mode", "nice"}}, c.ticks[9] / kUserHz);
    }
  }

 private:
  // A per-CPU line needs at least user, nice, system and idle; older kernels stop there.
  static std::vector<CpuTimes> parse(std::string_view text, std::uint64_t& malformed) {
    std::vector<CpuTimes> cpus;
    std::vector<std::string_view> fields;
    for_each_line(text, [&](std::string_view line) {
      if (line.size() < 4 || line.substr(0, 3) != "cpu" || line[3] == ' ') return;
      split_fields(line, fields);
      auto id = fields[0].substr(3);
      CpuTimes c;
      c.cpu.assign(id);
      bool ok = parse_u64(id).has_value() && fields.size() >= 5;
      for (std::size_t i = 1; ok && i < fields.size() && i <= c.ticks.size(); ++i) {
        auto v = parse_u64(fields[i]);
        ok = v.has_value();
        if (ok) c.ticks[i - 1] = static_cast<double>(*v);
        c.fields = i;
      }
      if (!ok) {
        ++malformed;
        return;
      }
      cpus.push_back(std::move(c));
    });
    return cpus;
  }

  ProcFile stat_;
};

}  // namespace

std::unique_ptr<Collector> make_cpu_collector(const CollectorSettings& settings) {
  return std::make_unique<CpuCollector>(settings);
}

}  // namespace afp::collectors
