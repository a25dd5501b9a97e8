#include "collectors/proc_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <limits>

#include "collectors/collector.h"
#include "core/text_file.h"

namespace afp::collectors {

namespace {

// core's reader without its bound: a /proc file is as long as the kernel makes it.
constexpr std::size_t kUnbounded = std::numeric_limits<std::size_t>::max();

}  // namespace

int pread_all(int fd, std::string& out, bool single_shot) {
  std::size_t used = 0;
  if (out.size() < 8192) out.resize(8192);
  for (;;) {
    if (used == out.size()) out.resize(out.size() * 2);
    std::size_t want = out.size() - used;
    ssize_t n = ::pread(fd, out.data() + used, want, static_cast<off_t>(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    used += static_cast<std::size_t>(n);
    if (n == 0 || (single_shot && static_cast<std::size_t>(n) < want)) break;
  }
  out.resize(used);
  return 0;
}

ProcFile::Fd::~Fd() {
  ::close(fd);
}

int ProcFile::read_once(std::string& out) {
  std::shared_ptr<const Fd> fd;
  {
    std::lock_guard lock(mutex_);
    if (!fd_) {
      int raw = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (raw < 0) return errno;
      fd_ = std::make_shared<const Fd>(raw);
    }
    fd = fd_;
  }
  int err = pread_all(fd->fd, out, kind_ == Kind::single_shot);
  if (err != 0) {
    // A stale handle (device gone, file replaced): reopen on the next read. The fd itself
    // closes when the last reader lets go, so no thread ever reads a recycled fd number.
    std::lock_guard lock(mutex_);
    if (fd_ == fd) fd_.reset();
  }
  return err;
}

void ProcFile::read(std::string& out) {
  if (int err = read_once(out); err != 0) {
    throw CollectError("cannot read " + path_ + ": " + std::strerror(err));
  }
}

bool ProcFile::try_read(std::string& out) {
  return read_once(out) == 0;
}

bool ProcFileSet::try_read(const std::string& path, std::string& out) {
  std::shared_ptr<ProcFile> file;
  {
    std::lock_guard lock(mutex_);
    auto it = files_.find(path);
    if (it == files_.end())
      it = files_.emplace(path, std::make_shared<ProcFile>(path, kind_)).first;
    file = it->second;
  }
  if (file->try_read(out)) return true;
  std::lock_guard lock(mutex_);
  files_.erase(path);
  return false;
}

std::string read_file(const std::string& path) {
  std::string out, error;
  if (!core::read_text_file(path, &out, &error, kUnbounded)) {
    throw CollectError("cannot read " + path + ": " + error);
  }
  return out;
}

std::optional<std::string> try_read_file(const std::string& path) {
  std::string out, error;
  if (!core::read_text_file(path, &out, &error, kUnbounded)) return std::nullopt;
  return out;
}

void split_fields(std::string_view line, std::vector<std::string_view>& fields) {
  fields.clear();
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t'))
      ++i;
    std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t')
      ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  std::uint64_t value = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), value);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  double value = 0;
  auto res = std::from_chars(text.data(), text.data() + text.size(), value);
  if (res.ec != std::errc() || res.ptr != text.data() + text.size() || text.empty()) {
    return std::nullopt;
  }
  return value;
}

std::string join_path(std::string_view root, std::string_view rel) {
  std::string out(root);
  while (out.size() > 1 && out.back() == '/')
    out.pop_back();
  while (!rel.empty() && rel.front() == '/')
    rel.remove_prefix(1);
  if (out != "/") out += '/';
  out += rel;
  return out;
}

}  // namespace afp::collectors
