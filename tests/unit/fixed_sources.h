#pragma once

// Fixed answers for what the system collectors read from the kernel rather than from the
// fixture trees (statfs, uname, the clock), so that golden files do not depend on the host.

#include <cerrno>
#include <map>
#include <string>

#include "collectors/host_sources.h"
#include "collectors/statfs_pool.h"
#include "golden.h"

namespace afp::test {

// Fixed statfs answers per mount point (the path the collector stats is rootfs + mount point).
inline collectors::StatResult fixed_stat(const std::string& path) {
  using collectors::StatResult;
  // Strip the fixture tree's rootfs (tests/fixtures/<tree>/root).
  static const std::string fixtures = fixture("");
  std::string mp = path;
  if (mp.compare(0, fixtures.size(), fixtures) == 0) {
    auto root = mp.find("/root", fixtures.size());
    mp = root == std::string::npos ? mp : mp.substr(root + 5);
  }
  if (mp.empty()) mp = "/";
  static const std::map<std::string, StatResult> table{
      {"/", {0, 4096, 15000000, 6000000, 5200000, 3900000, 3100000}},
      {"/boot", {0, 512, 1048576, 900000, 900000, 0, 0}},
      {"/srv/audio library", {0, 4096, 250000000, 50000000, 37500000, 61000000, 60000000}},
      {"/mnt/archive", {0, 4096, 500000000, 1000, 1000, 1000000, 20}},
      {"/mnt/tab\tdir\\x", {0, 1024, 100, 50, 40, 64, 32}},
      {"/mnt/fingerprints", {0, 1048576, 2000000, 800000, 800000, 1000, 999}},
      {"/run", {0, 4096, 407851, 407600, 407600, 2039275, 2038400}},
      {"/run/lock", {0, 4096, 1280, 1279, 1279, 2039275, 2039272}},
      {"/run/user/1000", {0, 4096, 407850, 407830, 407830, 407850, 407820}},
  };
  if (mp == "/run/user/1000/doc") return StatResult{EACCES};
  auto it = table.find(mp);
  return it == table.end() ? StatResult{ENOENT} : it->second;
}

inline collectors::UnameFields fixed_uname() {
  return {"Linux",  "6.1.0-18-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)",
          "x86_64", "fp-db-1",        "(none)"};
}

inline collectors::ClockReading fixed_clock() {
  return {1733500000.25, "CET", 3600};
}

}  // namespace afp::test
