#pragma once

// A whole gzip member inflated, for tests that read what the server gzipped.

#include <zlib.h>

#include <catch2/catch.hpp>
#include <string>

namespace afp::test {

inline std::string gunzip(const std::string& data) {
  z_stream zs{};
  REQUIRE(inflateInit2(&zs, 15 + 16) == Z_OK);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  std::string out;
  int rc = Z_OK;
  while (rc == Z_OK) {
    out.resize(out.size() + 64 * 1024);
    std::size_t done = zs.total_out;
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + done);
    zs.avail_out = static_cast<uInt>(out.size() - done);
    rc = inflate(&zs, Z_NO_FLUSH);
  }
  inflateEnd(&zs);
  REQUIRE(rc == Z_STREAM_END);
  out.resize(zs.total_out);
  return out;
}

}  // namespace afp::test
