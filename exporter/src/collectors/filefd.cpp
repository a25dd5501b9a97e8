// filefd: node_filefd_allocated and node_filefd_maximum from /proc/sys/fs/file-nr.
#include <string>
#include <vector>

#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

class FilefdCollector final : public Collector {
 public:
  explicit FilefdCollector(const CollectorSettings& settings)
      : file_(join_path(settings.procfs, "sys/fs/file-nr"), ProcFile::Kind::single_shot) {}

  // One line: allocated, allocated-but-unused (always 0 since Linux 2.6), maximum.
  void collect(ScrapeContext& ctx) override {
    std::string text;
    file_.read(text);
    std::vector<std::string_view> fields;
    split_fields(std::string_view(text).substr(0, text.find('\n')), fields);
    auto allocated = fields.size() == 3 ? parse_u64(fields[0]) : std::nullopt;
    auto maximum = fields.size() == 3 ? parse_u64(fields[2]) : std::nullopt;
    if (!allocated || !maximum) {
      ++ctx.malformed_lines;
      throw CollectError("malformed " + file_.path() + ": " + text.substr(0, 80));
    }
    ctx.out.family("node_filefd_allocated", "File descriptor statistics: allocated.",
                   metrics::MetricType::Gauge);
    ctx.out.sample({}, static_cast<double>(*allocated));
    ctx.out.family("node_filefd_maximum", "File descriptor statistics: maximum.",
                   metrics::MetricType::Gauge);
    ctx.out.sample({}, static_cast<double>(*maximum));
  }

 private:
  ProcFile file_;
};

}  // namespace

std::unique_ptr<Collector> make_filefd_collector(const CollectorSettings& settings) {
  return std::make_unique<FilefdCollector>(settings);
}

}  // namespace afp::collectors
