#pragma once

// What a test of TLS and basic auth needs on disk, made fresh in a directory of its own:
// certificates from the openssl command line, bcrypt hashes from libcrypt.

#include <crypt.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

namespace afp::test {

// A fresh directory under /tmp, removed with its contents.
struct TlsTempDir {
  std::string path;
  TlsTempDir() {
    char name[] = "/tmp/afp_tls_test_XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path = name;
  }
  ~TlsTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TlsTempDir(const TlsTempDir&) = delete;
  TlsTempDir& operator=(const TlsTempDir&) = delete;
  std::string file(const std::string& name) const { return path + "/" + name; }
  // Owner-only, as a secret file should be.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(file(name), std::ios::trunc) << text;
    REQUIRE(chmod(file(name).c_str(), 0600) == 0);
    return file(name);
  }
};

// A bcrypt hash at cost 4, so the tests stay fast.
inline std::string bcrypt_hash(const std::string& password) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  REQUIRE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, setting.data(), setting.size()) != nullptr);
  auto data = std::make_unique<crypt_data>();
  const char* hash = crypt_r(password.c_str(), setting.data(), data.get());
  REQUIRE(hash != nullptr);
  REQUIRE(hash[0] == '$');
  return hash;
}

// A self-signed certificate (its own CA) with one subjectAltName, e.g. "IP:127.0.0.1":
// <name>.crt and <name>.key.
inline void make_self_signed_cert(const TlsTempDir& dir, const std::string& name,
                                  const std::string& san) {
  std::string command =
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
      " -subj /CN=afp-test -addext subjectAltName=" +
      san + " -keyout " + dir.file(name + ".key") + " -out " + dir.file(name + ".crt") +
      " >/dev/null 2>&1";
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

}  // namespace afp::test
