#include "core/text_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

namespace afp::core {

namespace {

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

}  // namespace

bool read_text_file(const std::string& path, std::string* out, std::string* error,
                    std::size_t max_bytes) {
  Fd file{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) {
    *error = std::strerror(errno);
    return false;
  }
  std::array<char, 8192> buf{};
  for (;;) {
    ssize_t n = read(file.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {  // a directory opens, and fails here with EISDIR
      *error = std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    if (out->size() + static_cast<std::size_t>(n) > max_bytes) {
      *error = "larger than " + std::to_string(max_bytes / (1024 * 1024)) + " MiB";
      return false;
    }
    out->append(buf.data(), static_cast<std::size_t>(n));
  }
}

}  // namespace afp::core
