// filesystem: node_filesystem_{size,free,avail}_bytes, _files, _files_free, _readonly and
// _device_error{device,fstype,mountpoint} for each mounted filesystem, as node_exporter
// 1.5.0 reports them. statfs of anything that could hang (network, FUSE) runs on a
// StatfsPool so a dead mount cannot hang the scrape.
#include "collectors/filesystem.h"

#include <fcntl.h>
#include <linux/magic.h>  // PROC_SUPER_MAGIC
#include <poll.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "collectors/name_filter.h"
#include "collectors/proc_file.h"
#include "collectors/system_collectors.h"

namespace afp::collectors {

namespace {

using Clock = std::chrono::steady_clock;

// Keeps the deadline arithmetic clear of overflow for absurd mount timeouts.
constexpr std::chrono::milliseconds kMaxMountTimeout = std::chrono::hours(24);

struct Mount {
  std::string device;
  std::string mount_point;
  std::string fs_type;
  bool ro_option = false;
};

// statfs on these answers from counters the kernel keeps in memory: no I/O, no network,
// no user-space daemon, so it cannot hang and is called in the scrape thread, which saves
// two thread hand-offs per scrape. Everything else (NFS, CIFS, FUSE, btrfs, whose statfs
// can wait on a transaction, and types not listed) goes through the timed StatfsPool.
bool answers_from_memory(std::string_view fs_type) {
  for (std::string_view t : {"ext2", "ext3", "ext4", "xfs", "tmpfs", "ramfs", "vfat"}) {
    if (fs_type == t) return true;
  }
  return false;
}

bool is_octal(char c) {
  return c >= '0' && c <= '7';
}

// The kernel writes space, tab, newline and backslash in /proc/*/mounts as \040, \011,
// \012 and \134. Any \ooo escape is decoded; a backslash that starts none is kept.
std::string unescape(std::string_view field) {
  std::string out;
  out.reserve(field.size());
  for (std::size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && is_octal(field[i + 1]) && field[i + 1] <= '3' &&
        is_octal(field[i + 2]) && is_octal(field[i + 3])) {
      out += static_cast<char>(((field[i + 1] - '0') << 6) | ((field[i + 2] - '0') << 3) |
                               (field[i + 3] - '0'));
      i += 3;
    } else {
      out += field[i];
    }
  }
  return out;
}

// The mounts to report, filtered, sorted and deduplicated, with the paths to stat.
struct MountList {
  std::vector<Mount> mounts;
  std::vector<std::string> paths;   // rootfs + mount point
  std::vector<std::size_t> direct;  // indexes of the mounts statted in the scrape thread
  std::vector<std::size_t> pooled;  // and of those statted on the pool
  std::vector<std::string> pooled_paths;
  std::uint64_t malformed = 0;
};

bool has_ro_option(std::string_view options) {
  while (!options.empty()) {
    auto comma = options.find(',');
    if (options.substr(0, comma) == "ro") return true;
    if (comma == std::string_view::npos) break;
    options.remove_prefix(comma + 1);
  }
  return false;
}

class FilesystemCollector final : public Collector {
 public:
  FilesystemCollector(const CollectorSettings& settings, StatFn stat,
                      std::shared_ptr<StatfsPool> pool)
      : mounts_path_(join_path(settings.procfs, "1/mounts")),
        self_mounts_path_(join_path(settings.procfs, "self/mounts")),
        rootfs_(settings.rootfs.empty() ? "/" : settings.rootfs),
        timeout_(std::clamp(settings.mount_timeout, std::chrono::milliseconds::zero(),
                            kMaxMountTimeout)),
        mount_points_(settings.mount_points_include,
                      effective_exclude(settings.mount_points_include,
                                        settings.mount_points_exclude, kDefaultMountPointsExclude)),
        fs_types_(settings.fs_types_include,
                  effective_exclude(settings.fs_types_include, settings.fs_types_exclude,
                                    kDefaultFsTypesExclude)),
        stat_(std::move(stat)),
        pool_(std::move(pool)) {
    while (rootfs_.size() > 1 && rootfs_.back() == '/')
      rootfs_.pop_back();
  }

  ~FilesystemCollector() override {
    if (fd_ >= 0) ::close(fd_);
  }

  void collect(ScrapeContext& ctx) override {
    auto list = mount_list();
    ctx.malformed_lines += list->malformed;
    auto now = Clock::now();
    auto deadline = ctx.deadline - now > timeout_ ? now + timeout_ : ctx.deadline;
    std::vector<StatOutcome> outcomes(list->mounts.size());
    if (!list->pooled.empty()) {
      auto pooled = pool_->stat_all(list->pooled_paths, deadline);
      for (std::size_t k = 0; k < pooled.size(); ++k)
        outcomes[list->pooled[k]] = pooled[k];
    }
    for (auto i : list->direct)
      outcomes[i] = {StatOutcome::Status::Answered, stat_(list->paths[i])};
    write(ctx.out, list->mounts, outcomes);
  }

 private:
  // The kernel generates the mount table on every read, which costs more than the rest of
  // the scrape. The file stays open and is read again only when poll() reports a change
  // to the mount namespace (POLLPRI), as libmount does. Other files (test fixtures) are
  // re-read on every scrape.
  std::shared_ptr<const MountList> mount_list() {
    std::lock_guard lock(mutex_);
    if (cached_ && fd_ >= 0) {
      pollfd p{fd_, POLLPRI, 0};
      int rc = ::poll(&p, 1, 0);
      if (rc == 0) return cached_;
    }
    if (fd_ < 0) {
      fd_ = ::open(mounts_path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0) fd_ = ::open(self_mounts_path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd_ < 0)
        throw CollectError("cannot read " + self_mounts_path_ + ": " + std::strerror(errno));
    }
    std::string text;
    int err = pread_all(fd_, text, false);
    struct statfs fs {};
    bool pollable = err == 0 && ::fstatfs(fd_, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
    if (!pollable) {
      ::close(fd_);
      fd_ = -1;
    }
    if (err != 0) throw CollectError("cannot read mount table: " + std::string(std::strerror(err)));
    auto list = std::make_shared<MountList>();
    list->mounts = parse(text, list->malformed);
    list->paths.reserve(list->mounts.size());
    for (std::size_t i = 0; i < list->mounts.size(); ++i) {
      list->paths.push_back(join_path(rootfs_, list->mounts[i].mount_point));
      if (answers_from_memory(list->mounts[i].fs_type)) {
        list->direct.push_back(i);
      } else {
        list->pooled.push_back(i);
        list->pooled_paths.push_back(list->paths.back());
      }
    }
    cached_ = list;
    return list;
  }

  std::vector<Mount> parse(std::string_view text, std::uint64_t& malformed) {
    std::vector<Mount> mounts;
    std::vector<std::string_view> fields;
    for_each_line(text, [&](std::string_view line) {
      split_fields(line, fields);
      if (fields.empty()) return;
      // device mountpoint fstype options [dump pass]; node_exporter needs the first four.
      if (fields.size() < 4 || fields[1].front() != '/') {
        ++malformed;
        return;
      }
      Mount m{unescape(fields[0]), strip_rootfs(unescape(fields[1])), unescape(fields[2]),
              has_ro_option(fields[3])};
      if (!mount_points_.accepts(m.mount_point) || !fs_types_.accepts(m.fs_type)) return;
      mounts.push_back(std::move(m));
    });
    // node_exporter's order (label values: device, fstype, mountpoint). A mount listed
    // twice is reported once, with the options of the later line: the mount on top.
    auto key = [](const Mount& m) { return std::tie(m.device, m.fs_type, m.mount_point); };
    std::stable_sort(mounts.begin(), mounts.end(),
                     [&](const Mount& a, const Mount& b) { return key(a) < key(b); });
    std::vector<Mount> unique;
    unique.reserve(mounts.size());
    for (auto& m : mounts) {
      if (!unique.empty() && key(unique.back()) == key(m)) {
        unique.back() = std::move(m);
      } else {
        unique.push_back(std::move(m));
      }
    }
    return unique;
  }

  // With --path.rootfs, a mount table read inside a container lists the host's mounts
  // under the rootfs; like node_exporter, report them by their path on the host.
  std::string strip_rootfs(std::string mount_point) const {
    if (rootfs_ == "/" || mount_point.compare(0, rootfs_.size(), rootfs_) != 0) {
      return mount_point;
    }
    if (mount_point.size() == rootfs_.size()) return "/";
    if (mount_point[rootfs_.size()] != '/') return mount_point;
    return mount_point.substr(rootfs_.size());
  }

  static void write(metrics::TextWriter& out, const std::vector<Mount>& mounts,
                    const std::vector<StatOutcome>& outcomes) {
    std::vector<const StatResult*> ok(mounts.size(), nullptr);
    bool any_ok = false;
    for (std::size_t i = 0; i < mounts.size(); ++i) {
      const auto& o = outcomes[i];
      if (o.status == StatOutcome::Status::Answered && o.result.error == 0) {
        ok[i] = &o.result;
        any_ok = true;
      }
    }
    auto emit = [&](std::string_view name, std::string_view help, bool all, auto&& value) {
      if (mounts.empty() || (!all && !any_ok)) return;
      out.family(name, help, metrics::MetricType::Gauge);
      for (std::size_t i = 0; i < mounts.size(); ++i) {
        if (!all && ok[i] == nullptr) continue;
        const auto& m = mounts[i];
        out.sample({{"device", m.device}, {"fstype", m.fs_type}, {"mountpoint", m.mount_point}},
                   value(i));
      }
    };
    auto blocks = [&](std::uint64_t n, std::size_t i) {
      return static_cast<double>(n) * static_cast<double>(ok[i]->block_size);
    };
    // Families in node_exporter's (alphabetical) order. A mount that could not be statted
    // reports only device_error and readonly.
    emit("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes.",
         false, [&](std::size_t i) { return blocks(ok[i]->blocks_avail, i); });
    emit("node_filesystem_device_error",
         "Whether an error occurred while getting statistics for the given device.", true,
         [&](std::size_t i) { return ok[i] == nullptr ? 1.0 : 0.0; });
    emit("node_filesystem_files", "Filesystem total file nodes.", false,
         [&](std::size_t i) { return static_cast<double>(ok[i]->files); });
    emit("node_filesystem_files_free", "Filesystem total free file nodes.", false,
         [&](std::size_t i) { return static_cast<double>(ok[i]->files_free); });
    emit("node_filesystem_free_bytes", "Filesystem free space in bytes.", false,
         [&](std::size_t i) { return blocks(ok[i]->blocks_free, i); });
    // The mount table's options only, as node_exporter: under systemd's ProtectSystem=strict
    // statfs() sees every mount read-only, while /proc/1/mounts keeps the host's view.
    emit("node_filesystem_readonly", "Filesystem read-only status.", true,
         [&](std::size_t i) { return mounts[i].ro_option ? 1.0 : 0.0; });
    emit("node_filesystem_size_bytes", "Filesystem size in bytes.", false,
         [&](std::size_t i) { return blocks(ok[i]->blocks, i); });
  }

  std::string mounts_path_;
  std::string self_mounts_path_;
  std::string rootfs_;
  std::chrono::milliseconds timeout_;
  NameFilter mount_points_;
  NameFilter fs_types_;
  StatFn stat_;
  // Shared with the collectors of later reloads: threads stuck on a dead mount stay
  // counted against one bound instead of a new pool's each time.
  std::shared_ptr<StatfsPool> pool_;
  std::mutex mutex_;  // guards fd_ and cached_
  int fd_ = -1;
  std::shared_ptr<const MountList> cached_;
};

}  // namespace

std::unique_ptr<Collector> make_filesystem_collector(const CollectorSettings& settings,
                                                     StatFn stat) {
  auto pool = std::make_shared<StatfsPool>(stat);
  return std::make_unique<FilesystemCollector>(settings, std::move(stat), std::move(pool));
}

std::unique_ptr<Collector> make_filesystem_collector(const CollectorSettings& settings,
                                                     std::shared_ptr<StatfsPool> pool) {
  return std::make_unique<FilesystemCollector>(settings, real_statfs, std::move(pool));
}

}  // namespace afp::collectors
