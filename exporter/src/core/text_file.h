#pragma once

// The one reader of whole files. The files an operator names (config, web config,
// certificates, secrets) get the system's own reason when that fails, and a bound, so a path
// such as /dev/zero given by mistake is an error instead of all the memory there is; the
// collectors' one-off reads of /proc and /etc files (collectors/proc_file.h) go without it.

#include <cstddef>
#include <string>

namespace afp::core {

// Far above any configuration file, certificate bundle or secret.
inline constexpr std::size_t kMaxTextFileBytes = 4 * 1024 * 1024;

// The whole of a file, or false with *error set to strerror's text ("No such file or
// directory", "Is a directory", "Permission denied") or "larger than 4 MiB".
bool read_text_file(const std::string& path, std::string* out, std::string* error,
                    std::size_t max_bytes = kMaxTextFileBytes);

}  // namespace afp::core
