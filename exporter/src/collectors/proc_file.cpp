#include "collectors/proc_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

#include "collectors/collector.h"

namespace afp::collectors {

namespace {

// errno is returned instead of thrown so that try_read_file stays exception-free.
int read_all(const std::string& path, std::string& out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  out.clear();
  std::size_t used = 0;
  out.resize(4096);
  for (;;) {
    if (used == out.size()) out.resize(out.size() * 2);
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return err;
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  ::close(fd);
  out.resize(used);
  return 0;
}

}  // namespace

std::string read_file(const std::string& path) {
  std::string out;
  if (int err = read_all(path, out); err != 0) {
    throw CollectError("cannot read " + path + ": " + std::strerror(err));
  }
  return out;
}

std::optional<std::string> try_read_file(const std::string& path) {
  std::string out;
  if (read_all(path, out) != 0) return std::nullopt;
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
