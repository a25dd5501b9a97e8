#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace afp::http {

// Up to `max_threads` threads running tasks in the order they were posted. The server runs
// its handlers here, off the I/O threads; the queue holds at most one task per open
// connection, so the connection cap bounds it. A thread starts only when a task finds
// none idle: an exporter scraped once at a time keeps one, not the limit's 48 stacks (and
// malloc arenas) resident.
class WorkerPool {
 public:
  explicit WorkerPool(int max_threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Throws std::system_error when no thread runs and none can be started.
  void post(std::function<void()> task);
  // Runs what is queued, then joins the threads; later posts are dropped.
  void stop();
  // The threads started so far (they stay until stop()).
  std::size_t thread_count() const;
  // Of those, the ones waiting for a task.
  std::size_t idle_count() const;

 private:
  void run();
  void start_thread();

  const std::size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  std::size_t idle_ = 0;  // threads waiting for a task
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace afp::http
