#include "memory_hog.h"

#include <sys/mman.h>
#include <unistd.h>

#include <charconv>
#include <fstream>

#include "number_text.h"

namespace afp::workload {

namespace {

// "MemTotal:       24567890 kB" -> bytes.
std::optional<std::uint64_t> kib_field(std::string_view line, std::string_view name) {
  if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ':')
    return std::nullopt;
  auto rest = line.substr(name.size() + 1);
  auto first = rest.find_first_not_of(' ');
  if (first == std::string_view::npos) return std::nullopt;
  rest = rest.substr(first);
  std::uint64_t kib = 0;
  auto res = std::from_chars(rest.data(), rest.data() + rest.size(), kib);
  if (res.ec != std::errc()) return std::nullopt;
  return kib * 1024;
}

}  // namespace

std::optional<MemInfo> read_meminfo(const std::string& path) {
  std::ifstream in(path);
  std::optional<std::uint64_t> total, available;
  for (std::string line; std::getline(in, line);) {
    if (!total) total = kib_field(line, "MemTotal");
    if (!available) available = kib_field(line, "MemAvailable");
  }
  if (!total || !available || *total == 0) return std::nullopt;
  return MemInfo{*total, *available};
}

MemoryStep next_memory_step(const MemInfo& info, const MemoryHogOptions& options,
                            std::uint64_t held) {
  if (info.available_bytes < options.floor_bytes)
    return held > 0 ? MemoryStep::GiveBack : MemoryStep::Hold;
  double used =
      1 - static_cast<double>(info.available_bytes) / static_cast<double>(info.total_bytes);
  // The last chunk may overshoot the target by less than a chunk, never the floor.
  if (used < options.target_ratio &&
      info.available_bytes >= options.floor_bytes + options.chunk_bytes)
    return MemoryStep::Take;
  return MemoryStep::Hold;
}

MemoryHog::MemoryHog(MemoryHogOptions options, log::Logger& log)
    : options_(std::move(options)), log_(log) {
  thread_ = std::thread(&MemoryHog::loop, this);
}

MemoryHog::~MemoryHog() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_all();
  }
  thread_.join();
  for (void* chunk : chunks_)
    munmap(chunk, options_.chunk_bytes);
  log_.info("fault memory off");
}

std::uint64_t MemoryHog::held_bytes() const {
  std::lock_guard lock(mutex_);
  return chunks_.size() * std::uint64_t{options_.chunk_bytes};
}

bool MemoryHog::pause(std::chrono::milliseconds how_long) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, how_long, [this] { return stopping_; });
}

void MemoryHog::loop() {
  log_.info("fault memory on", {{"ratio", number_text(options_.target_ratio)}});
  bool warned = false;
  while (pause(std::chrono::milliseconds(0))) {
    auto info = read_meminfo(options_.meminfo_path);
    if (!info) {
      if (!warned)
        log_.warn("fault memory: no MemTotal/MemAvailable", {{"file", options_.meminfo_path}});
      warned = true;
      if (!pause(options_.recheck)) break;
      continue;
    }
    switch (next_memory_step(*info, options_, held_bytes())) {
      case MemoryStep::Take:
        if (take_chunk() && pause(options_.chunk_pause)) continue;
        break;
      case MemoryStep::GiveBack:
        give_back_chunk();
        continue;
      case MemoryStep::Hold:
        break;
    }
    if (!pause(options_.recheck)) break;
  }
}

bool MemoryHog::take_chunk() {
  void* chunk = mmap(nullptr, options_.chunk_bytes, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (chunk == MAP_FAILED) {
    log_.warn("fault memory: mmap failed", {{"held_bytes", std::to_string(held_bytes())}});
    return false;
  }
  // An untouched mapping costs the host nothing: every page must be written.
  auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  auto* bytes = static_cast<unsigned char*>(chunk);
  for (std::size_t at = 0; at < options_.chunk_bytes; at += page)
    bytes[at] = 1;
  std::lock_guard lock(mutex_);
  chunks_.push_back(chunk);
  return true;
}

void MemoryHog::give_back_chunk() {
  void* chunk = nullptr;
  {
    std::lock_guard lock(mutex_);
    if (chunks_.empty()) return;
    chunk = chunks_.back();
    chunks_.pop_back();
  }
  munmap(chunk, options_.chunk_bytes);
}

}  // namespace afp::workload
