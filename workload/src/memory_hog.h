#pragma once

// The memory fault: a thread takes anonymous memory in chunks, writing every page so that
// it is really used, until the host's used share (1 - MemAvailable/MemTotal, as
// node_exporter-style alerts compute it) reaches the target, and holds it. Whatever the
// target, it keeps at least `floor_bytes` available: when other processes grow and
// MemAvailable falls below that, it gives chunks back, so the fault never pushes the host
// into the OOM killer. Destruction frees everything.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "log/logger.h"

namespace afp::workload {

struct MemInfo {
  std::uint64_t total_bytes = 0;
  std::uint64_t available_bytes = 0;
};

// MemTotal and MemAvailable of a /proc/meminfo-format file; nullopt when either is missing.
std::optional<MemInfo> read_meminfo(const std::string& path);

struct MemoryHogOptions {
  double target_ratio = 0.85;
  std::string meminfo_path = "/proc/meminfo";
  std::size_t chunk_bytes = std::size_t{64} << 20;
  std::uint64_t floor_bytes = std::uint64_t{512} << 20;
  // Between two chunks; 0 fills as fast as pages can be written.
  std::chrono::milliseconds chunk_pause{0};
  // How often a hog at its target looks again.
  std::chrono::milliseconds recheck{1000};
};

enum class MemoryStep { Take, GiveBack, Hold };

// What to do next with the host at `info` and `held` bytes taken so far.
MemoryStep next_memory_step(const MemInfo& info, const MemoryHogOptions& options,
                            std::uint64_t held);

class MemoryHog {
 public:
  MemoryHog(MemoryHogOptions options, log::Logger& log);
  ~MemoryHog();  // stops, joins and unmaps
  MemoryHog(const MemoryHog&) = delete;
  MemoryHog& operator=(const MemoryHog&) = delete;

  std::uint64_t held_bytes() const;

 private:
  void loop();
  bool take_chunk();
  void give_back_chunk();
  bool pause(std::chrono::milliseconds how_long);  // false when stopping

  MemoryHogOptions options_;
  log::Logger& log_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<void*> chunks_;
  std::thread thread_;
};

}  // namespace afp::workload
