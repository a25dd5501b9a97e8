// The memory fault: /proc/meminfo parsing, the take / hold / give-back decision, and a hog
// that reads a meminfo file the test writes (so it takes a few MiB, not the host's memory).
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "faults.h"
#include "memory_hog.h"

using namespace afp::workload;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kGiB = 1 << 30;

struct Quiet {
  afp::log::Logger log{afp::log::Level::error, afp::log::Format::logfmt, [](std::string_view) {}};
};

// A meminfo file of the test's own, rewritten to move the host's "used" share.
struct FakeMeminfo {
  std::string path = "/tmp/afp_workload_meminfo_" + std::to_string(getpid()) + "_" +
                     std::to_string(reinterpret_cast<std::uintptr_t>(this));
  ~FakeMeminfo() { std::remove(path.c_str()); }
  void write(std::uint64_t total_kib, std::uint64_t available_kib) {
    std::ofstream out(path + ".new");
    out << "MemTotal:       " << total_kib << " kB\nMemFree:          123456 kB\n"
        << "MemAvailable:   " << available_kib << " kB\nBuffers:            1024 kB\n";
    out.close();
    std::rename((path + ".new").c_str(), path.c_str());  // the hog never reads half a file
  }
};

bool eventually(const std::function<bool()>& condition) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

MemoryHogOptions small(const std::string& meminfo, double ratio) {
  MemoryHogOptions o;
  o.target_ratio = ratio;
  o.meminfo_path = meminfo;
  o.chunk_bytes = kMiB;
  o.floor_bytes = 512 * kMiB;
  o.chunk_pause = std::chrono::milliseconds(5);
  o.recheck = std::chrono::milliseconds(5);
  return o;
}

}  // namespace

TEST_CASE("memory: MemTotal and MemAvailable are read from a meminfo file", "[memory]") {
  FakeMeminfo fake;
  fake.write(24 * 1024 * 1024, 6 * 1024 * 1024);
  auto info = read_meminfo(fake.path);
  REQUIRE(info);
  CHECK(info->total_bytes == 24 * kGiB);
  CHECK(info->available_bytes == 6 * kGiB);

  std::ofstream(fake.path) << "MemTotal: 1000 kB\nMemFree: 10 kB\n";  // a kernel before 3.14
  CHECK_FALSE(read_meminfo(fake.path));
  CHECK_FALSE(read_meminfo(fake.path + ".absent"));
  auto real = read_meminfo("/proc/meminfo");
  REQUIRE(real);
  CHECK(real->available_bytes <= real->total_bytes);
}

TEST_CASE("memory: take below the target, hold at it, give back below the floor", "[memory]") {
  MemoryHogOptions o;
  o.target_ratio = 0.85;  // 64 MiB chunks, 512 MiB floor
  const MemInfo half{24 * kGiB, 12 * kGiB};
  CHECK(next_memory_step(half, o, 0) == MemoryStep::Take);
  const MemInfo at_target{24 * kGiB, 3 * kGiB};  // 0.875 used
  CHECK(next_memory_step(at_target, o, 2 * kGiB) == MemoryStep::Hold);
  // A 0.97 target on a small host: the floor wins.
  o.target_ratio = 0.97;
  const MemInfo near_floor{4 * kGiB, 560 * kMiB};
  CHECK(next_memory_step(near_floor, o, kGiB) == MemoryStep::Hold);
  const MemInfo below_floor{4 * kGiB, 400 * kMiB};
  CHECK(next_memory_step(below_floor, o, kGiB) == MemoryStep::GiveBack);
  CHECK(next_memory_step(below_floor, o, 0) == MemoryStep::Hold);  // nothing to give
}

TEST_CASE("memory: a hog takes chunks until the target, holds, and gives back", "[memory]") {
  Quiet q;
  FakeMeminfo fake;
  const std::uint64_t total_kib = 16 * 1024 * 1024;
  fake.write(total_kib, total_kib / 2);  // 0.5 used, below the 0.6 target
  MemoryHog hog(small(fake.path, 0.6), q.log);
  REQUIRE(eventually([&] { return hog.held_bytes() >= 3 * kMiB; }));

  fake.write(total_kib, total_kib / 4);  // 0.75 used: the target is reached
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto held = hog.held_bytes();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(hog.held_bytes() == held);

  fake.write(total_kib, 256 * 1024);  // 256 MiB available: below the floor
  CHECK(eventually([&] { return hog.held_bytes() == 0; }));
}

TEST_CASE("memory: the fault's memory is really taken, and clearing frees it", "[memory]") {
  Quiet q;
  FakeMeminfo fake;
  fake.write(16 * 1024 * 1024, 8 * 1024 * 1024);
  auto resident_kib = [] {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
    }
    return 0ull;
  };
  auto options = small(fake.path, 0.9);
  options.chunk_bytes = 8 * kMiB;
  Faults faults("postgresql://afp@127.0.0.1:1/fingerprints?connect_timeout=2", q.log, options);
  auto before = resident_kib();
  faults.apply(parse_fault_spec("memory=0.9", 1));
  CHECK(faults.state().memory_ratio == 0.9);
  // Touched pages are resident: about 64 MiB is enough to tell.
  REQUIRE(eventually([&] { return resident_kib() > before + 64 * 1024; }));
  fake.write(16 * 1024 * 1024, 1024 * 1024);  // 0.94 used: hold
  faults.apply(parse_fault_spec("clear=memory", 1));
  CHECK(faults.state().memory_ratio == 0);
  CHECK(resident_kib() < before + 32 * 1024);
}
