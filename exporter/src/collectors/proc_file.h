#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace afp::collectors {

// Reads a whole (pseudo-)file. /proc files report size 0, so this reads until EOF.
// Throws CollectError naming the path when the file cannot be opened or read.
std::string read_file(const std::string& path);
// Same, but an absent or unreadable file gives nullopt (optional inputs).
std::optional<std::string> try_read_file(const std::string& path);

// Reads fd from offset 0 to EOF into out with pread, so threads can share the fd.
// A short read ends the file when single_shot is set: files the kernel generates in one
// piece (single_open: /proc/stat, /proc/meminfo, sysfs attributes, regular files) return
// everything that fits, while iterated seq files return a page of records at a time, and
// asking a single_open file for more after its end would make the kernel generate it again.
// Returns 0 or an errno value.
int pread_all(int fd, std::string& out, bool single_shot);

// A /proc or /sys file kept open and re-read from offset 0 on every scrape. The kernel
// regenerates the content on each read, and skipping open and close per scrape saves
// about three quarters of the cost of a small /proc file. Safe for concurrent readers.
class ProcFile {
 public:
  enum class Kind { single_shot, iterated };
  ProcFile(std::string path, Kind kind) : path_(std::move(path)), kind_(kind) {}
  ProcFile(const ProcFile&) = delete;
  ProcFile& operator=(const ProcFile&) = delete;

  const std::string& path() const { return path_; }
  // Throws CollectError naming the path.
  void read(std::string& out);
  // False when the file is absent or unreadable.
  bool try_read(std::string& out);

 private:
  struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd();
  };
  int read_once(std::string& out);

  std::string path_;
  Kind kind_;
  std::mutex mutex_;  // guards fd_ while it is (re)opened
  std::shared_ptr<const Fd> fd_;
};

// ProcFiles opened on demand by name (e.g. one sysfs attribute per network device);
// entries whose file disappeared are dropped so vanished devices do not pin fds.
class ProcFileSet {
 public:
  explicit ProcFileSet(ProcFile::Kind kind) : kind_(kind) {}
  bool try_read(const std::string& path, std::string& out);

 private:
  ProcFile::Kind kind_;
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ProcFile>, std::less<>> files_;
};

// Splits on runs of spaces and tabs; no allocation beyond the vector.
void split_fields(std::string_view line, std::vector<std::string_view>& fields);

// Calls fn(line) for each newline-separated line, the newline excluded; a trailing
// partial line (truncated file) is passed too.
template <typename Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  while (!text.empty()) {
    auto end = text.find('\n');
    fn(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
}

// Whole-field numeric parsing: nullopt on anything but a complete number.
std::optional<std::uint64_t> parse_u64(std::string_view text);
std::optional<double> parse_double(std::string_view text);

// Joins a root (e.g. --path.procfs) and a relative path.
std::string join_path(std::string_view root, std::string_view rel);

}  // namespace afp::collectors
