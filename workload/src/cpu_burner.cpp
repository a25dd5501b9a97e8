#include "cpu_burner.h"

namespace afp::workload {

CpuBurner::CpuBurner(int threads) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      // Floating-point work the compiler cannot drop (the result is stored), checking the
      // flag often enough that stopping is immediate.
      volatile double sink = 0;
      double x = 1;
      while (!stopping_.load(std::memory_order_relaxed)) {
        for (int j = 0; j < 10000; ++j)
          x = x * 1.000000001 + 1e-9;
        sink = x;
      }
      (void)sink;
    });
  }
}

CpuBurner::~CpuBurner() {
  stopping_.store(true);
  for (auto& t : threads_)
    t.join();
}

}  // namespace afp::workload
