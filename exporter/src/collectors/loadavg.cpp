// loadavg: node_load1, node_load5, node_load15.
#include <array>
#include <string>
#include <vector>

#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

class LoadavgCollector final : public Collector {
 public:
  explicit LoadavgCollector(const CollectorSettings& settings)
      : file_(join_path(settings.procfs, "loadavg"), ProcFile::Kind::single_shot) {}

  void collect(ScrapeContext& ctx) override {
    std::string text;
    file_.read(text);
    std::vector<std::string_view> fields;
    split_fields(std::string_view(text).substr(0, text.find('\n')), fields);
    std::array<double, 3> loads{};
    for (std::size_t i = 0; i < loads.size(); ++i) {
      auto v = i < fields.size() ? parse_double(fields[i]) : std::nullopt;
      if (!v) {
        ++ctx.malformed_lines;
        throw CollectError("malformed " + file_.path() + ": " + text.substr(0, 80));
      }
      loads[i] = *v;
    }
    static constexpr std::array<std::string_view, 3> kNames{"node_load1", "node_load5",
                                                            "node_load15"};
    static constexpr std::array<std::string_view, 3> kHelp{"1m load average.", "5m load average.",
                                                           "15m load average."};
    for (std::size_t i = 0; i < loads.size(); ++i) {
      ctx.out.family(kNames[i], kHelp[i], metrics::MetricType::Gauge);
      ctx.out.sample({}, loads[i]);
    }
  }

 private:
  ProcFile file_;
};

}  // namespace

std::unique_ptr<Collector> make_loadavg_collector(const CollectorSettings& settings) {
  return std::make_unique<LoadavgCollector>(settings);
}

}  // namespace afp::collectors
