#include "http/worker_pool.h"

#include <algorithm>
#include <system_error>

namespace afp::http {

WorkerPool::WorkerPool(int max_threads)
    : max_threads_(static_cast<std::size_t>(std::max(1, max_threads))) {}

WorkerPool::~WorkerPool() {
  stop();
}

void WorkerPool::post(std::function<void()> task) {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.push_back(std::move(task));
    // Every idle thread already has a task on its way: one more waits in the queue only
    // when the limit is reached.
    if (queue_.size() > idle_ && threads_.size() < max_threads_) start_thread();
  }
  ready_.notify_one();
}

// Under mutex_. Without a new thread (the process's thread limit) the task waits for one of
// the running ones; with none running it could never run, and post() fails instead.
void WorkerPool::start_thread() {
  try {
    threads_.emplace_back([this] { run(); });
  } catch (const std::system_error&) {
    if (!threads_.empty()) return;
    queue_.pop_back();
    throw;
  }
}

std::size_t WorkerPool::thread_count() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

std::size_t WorkerPool::idle_count() const {
  std::lock_guard lock(mutex_);
  return idle_;
}

void WorkerPool::stop() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  ready_.notify_all();
  for (auto& t : threads) {
    if (t.joinable()) t.join();
  }
}

void WorkerPool::run() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock lock(mutex_);
      ++idle_;
      ready_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      --idle_;
      if (queue_.empty()) return;  // stopping, and nothing left to run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

}  // namespace afp::http
