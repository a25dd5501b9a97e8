// The worker pool starts threads as tasks need them, up to its limit, and runs every task.
#include "http/worker_pool.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <latch>
#include <thread>

using namespace afp;

namespace {

// Until every started thread waits for work again (a finished task's thread needs a moment
// to get back), at most 10 s.
bool all_idle(const http::WorkerPool& pool) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pool.idle_count() != pool.thread_count()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace

TEST_CASE("one task at a time keeps one worker thread, however high the limit", "[http][pool]") {
  http::WorkerPool pool(48);
  CHECK(pool.thread_count() == 0);
  for (int i = 0; i < 20; ++i) {
    std::promise<void> done;
    pool.post([&] { done.set_value(); });
    done.get_future().wait();
    REQUIRE(all_idle(pool));
  }
  CHECK(pool.thread_count() == 1);
}

TEST_CASE("tasks that wait on each other get a thread each, up to the limit", "[http][pool]") {
  http::WorkerPool pool(4);
  std::latch all_running(4);
  std::atomic<int> finished{0};
  for (int i = 0; i < 4; ++i) {
    pool.post([&] {
      all_running.arrive_and_wait();  // only returns once four run at once
      ++finished;
    });
  }
  all_running.wait();
  // More than the limit: they queue and run on the four threads.
  std::latch queued(6);
  for (int i = 0; i < 6; ++i)
    pool.post([&] { queued.count_down(); });
  queued.wait();
  CHECK(pool.thread_count() == 4);
  pool.stop();
  CHECK(finished == 4);
}

TEST_CASE("stop runs what is queued, then drops later posts", "[http][pool]") {
  std::atomic<int> ran{0};
  http::WorkerPool pool(2);
  for (int i = 0; i < 10; ++i)
    pool.post([&] { ++ran; });
  pool.stop();
  CHECK(ran == 10);
  pool.post([&] { ++ran; });
  CHECK(ran == 10);
  CHECK(pool.thread_count() == 0);
}
