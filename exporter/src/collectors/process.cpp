// process: client_golang's standard process_* metrics for the exporter itself, read from
// {procfs}/self/{stat,limits,fd} and btime from {procfs}/stat.
#include "collectors/process.h"

#include <dirent.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

// /proc counts in USER_HZ, which the kernel fixes at 100 for user space.
constexpr double kUserHz = 100.0;
// procfs (and so client_golang) reports an "unlimited" limit as the largest uint64.
constexpr double kUnlimited = static_cast<double>(std::numeric_limits<std::uint64_t>::max());

struct SelfStat {
  std::uint64_t utime = 0;
  std::uint64_t stime = 0;
  std::uint64_t starttime = 0;
  std::uint64_t vsize = 0;
  std::uint64_t rss = 0;
};

// proc(5): "pid (comm) state ppid ...". comm may hold spaces and ')' itself, so the
// fields start after the LAST ')'.
std::optional<SelfStat> parse_self_stat(std::string_view text) {
  auto open = text.find('(');
  auto close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  std::vector<std::string_view> fields;
  auto rest = text.substr(close + 1);
  split_fields(rest.substr(0, rest.find('\n')), fields);
  // fields[0] is field 3 (state), so field N of proc(5) is fields[N - 3].
  constexpr std::size_t kUtime = 14 - 3, kStime = 15 - 3, kStarttime = 22 - 3, kVsize = 23 - 3,
                        kRss = 24 - 3;
  if (fields.size() <= kRss) return std::nullopt;
  auto utime = parse_u64(fields[kUtime]);
  auto stime = parse_u64(fields[kStime]);
  auto starttime = parse_u64(fields[kStarttime]);
  auto vsize = parse_u64(fields[kVsize]);
  auto rss = parse_u64(fields[kRss]);
  if (!utime || !stime || !starttime || !vsize || !rss) return std::nullopt;
  return SelfStat{*utime, *stime, *starttime, *vsize, *rss};
}

struct Limits {
  std::optional<double> open_files;     // soft limit
  std::optional<double> address_space;  // soft limit
};

std::optional<double> parse_limit(std::string_view text) {
  if (text == "unlimited") return kUnlimited;
  auto v = parse_u64(text);
  if (!v) return std::nullopt;
  return static_cast<double>(*v);
}

Limits parse_limits(std::string_view text, std::uint64_t& malformed) {
  Limits limits;
  std::vector<std::string_view> fields;
  auto take = [&](std::string_view line, std::string_view key, std::optional<double>& into) {
    if (line.substr(0, key.size()) != key) return;
    split_fields(line.substr(key.size()), fields);
    auto v = fields.empty() ? std::nullopt : parse_limit(fields[0]);
    if (!v) {
      ++malformed;
      return;
    }
    into = v;
  };
  for_each_line(text, [&](std::string_view line) {
    take(line, "Max open files ", limits.open_files);
    take(line, "Max address space ", limits.address_space);
  });
  return limits;
}

// nullopt when the directory cannot be listed.
std::optional<std::uint64_t> count_entries(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return std::nullopt;
  std::uint64_t n = 0;
  while (const dirent* e = ::readdir(d)) {
    std::string_view name(e->d_name);
    if (name != "." && name != "..") ++n;
  }
  ::closedir(d);
  return n;
}

std::optional<std::uint64_t> parse_btime(std::string_view text, std::uint64_t& malformed) {
  std::optional<std::uint64_t> btime;
  std::vector<std::string_view> fields;
  for_each_line(text, [&](std::string_view line) {
    if (line.substr(0, 6) != "btime ") return;
    split_fields(line, fields);
    auto v = fields.size() == 2 ? parse_u64(fields[1]) : std::nullopt;
    if (!v) {
      ++malformed;
      return;
    }
    btime = v;
  });
  return btime;
}

// {procfs}/self/stat is required; limits, fd and btime are optional, each family is
// left out when its input is absent or malformed (malformed lines are counted).
class ProcessCollector final : public Collector {
 public:
  ProcessCollector(const CollectorSettings& settings, std::uint64_t page_size)
      : stat_(join_path(settings.procfs, "self/stat"), ProcFile::Kind::single_shot),
        limits_(join_path(settings.procfs, "self/limits"), ProcFile::Kind::single_shot),
        fd_path_(join_path(settings.procfs, "self/fd")),
        proc_stat_path_(join_path(settings.procfs, "stat")),
        page_size_(page_size) {}

  void collect(ScrapeContext& ctx) override {
    std::string text;
    stat_.read(text);
    auto stat = parse_self_stat(text);
    if (!stat) {
      ++ctx.malformed_lines;
      throw CollectError("malformed " + stat_.path() + ": " + text.substr(0, 80));
    }
    Limits limits;
    if (limits_.try_read(text)) limits = parse_limits(text, ctx.malformed_lines);
    auto open_fds = count_entries(fd_path_);
    auto start_time = start_time_seconds(stat->starttime, ctx.malformed_lines);

    // Families in name order, as client_golang's registry gathers them.
    auto& out = ctx.out;
    using metrics::MetricType;
    out.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
               MetricType::Counter);
    out.sample({}, static_cast<double>(stat->utime + stat->stime) / kUserHz);
    if (limits.open_files) {
      out.family("process_max_fds", "Maximum number of open file descriptors.", MetricType::Gauge);
      out.sample({}, *limits.open_files);
    }
    if (open_fds) {
      out.family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
      out.sample({}, static_cast<double>(*open_fds));
    }
    out.family("process_resident_memory_bytes", "Resident memory size in bytes.",
               MetricType::Gauge);
    out.sample({}, static_cast<double>(stat->rss) * static_cast<double>(page_size_));
    if (start_time) {
      out.family("process_start_time_seconds",
                 "Start time of the process since unix epoch in seconds.", MetricType::Gauge);
      out.sample({}, *start_time);
    }
    out.family("process_virtual_memory_bytes", "Virtual memory size in bytes.", MetricType::Gauge);
    out.sample({}, static_cast<double>(stat->vsize));
    if (limits.address_space) {
      out.family("process_virtual_memory_max_bytes",
                 "Maximum amount of virtual memory available in bytes.", MetricType::Gauge);
      out.sample({}, *limits.address_space);
    }
  }

 private:
  // Boot time and the process's start tick never change, and /proc/stat is one of the
  // costlier files to read, so the start time is worked out once.
  std::optional<double> start_time_seconds(std::uint64_t starttime, std::uint64_t& malformed) {
    double cached = start_time_.load(std::memory_order_relaxed);
    if (cached >= 0) return cached;
    std::optional<std::uint64_t> btime;
    if (auto t = try_read_file(proc_stat_path_)) btime = parse_btime(*t, malformed);
    if (!btime) return std::nullopt;
    double value = static_cast<double>(*btime) + static_cast<double>(starttime) / kUserHz;
    start_time_.store(value, std::memory_order_relaxed);
    return value;
  }

  ProcFile stat_;
  ProcFile limits_;
  std::string fd_path_;
  std::string proc_stat_path_;
  std::uint64_t page_size_;
  std::atomic<double> start_time_{-1};
};

}  // namespace

std::unique_ptr<Collector> make_process_collector(const CollectorSettings& settings,
                                                  std::uint64_t page_size) {
  return std::make_unique<ProcessCollector>(settings, page_size);
}

std::unique_ptr<Collector> make_process_collector(const CollectorSettings& settings) {
  long page_size = ::sysconf(_SC_PAGESIZE);
  return make_process_collector(settings,
                                page_size > 0 ? static_cast<std::uint64_t>(page_size) : 4096);
}

}  // namespace afp::collectors
