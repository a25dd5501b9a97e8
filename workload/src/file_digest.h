#pragma once

// Dejavu recognises a file it has fingerprinted before by the SHA-1 of its bytes.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace afp::workload {

using FileSha1 = std::array<std::uint8_t, 20>;

FileSha1 sha1_of(std::string_view bytes);
std::string to_hex(const FileSha1& digest);

}  // namespace afp::workload
