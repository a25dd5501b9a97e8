#include "file_digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace afp::workload {

FileSha1 sha1_of(std::string_view bytes) {
  FileSha1 digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha1(), nullptr) != 1 ||
      length != digest.size()) {
    throw std::runtime_error("SHA-1 failed (OpenSSL)");
  }
  return digest;
}

std::string to_hex(const FileSha1& digest) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(digest.size() * 2);
  for (auto b : digest) {
    out += kDigits[b >> 4];
    out += kDigits[b & 0xf];
  }
  return out;
}

}  // namespace afp::workload
