#pragma once

// The cpu fault: threads that spin until stopped, competing with the service for cores.

#include <atomic>
#include <thread>
#include <vector>

namespace afp::workload {

class CpuBurner {
 public:
  explicit CpuBurner(int threads);
  ~CpuBurner();  // stops and joins
  CpuBurner(const CpuBurner&) = delete;
  CpuBurner& operator=(const CpuBurner&) = delete;

 private:
  std::atomic<bool> stopping_{false};
  std::vector<std::thread> threads_;
};

}  // namespace afp::workload
