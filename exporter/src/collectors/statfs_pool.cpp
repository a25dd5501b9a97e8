#include "collectors/statfs_pool.h"

#include <sys/statvfs.h>
#include <sys/vfs.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <unordered_map>

namespace afp::collectors {

namespace detail {

enum class ItemState : std::uint8_t { Pending, Running, Done, Abandoned };

// The paths of one stat_all call. Guarded by StatfsPoolState::mutex.
struct Batch {
  std::vector<std::string> paths;  // immutable once queued
  std::vector<StatResult> results;
  std::vector<ItemState> states;
  std::size_t next = 0;  // first item no thread has claimed yet
  std::size_t done = 0;
  std::condition_variable done_cv;  // the caller waits here
};

struct StatfsPoolState {
  StatFn fn;
  StatfsPoolOptions options;

  std::mutex mutex;
  std::condition_variable work_cv;  // idle threads wait here
  std::condition_variable exit_cv;  // the destructor waits here
  std::deque<std::shared_ptr<Batch>> queue;
  // Paths with a call that timed out and has not returned, and how many such calls.
  std::unordered_map<std::string, std::size_t> stuck_paths;
  std::size_t threads = 0;
  std::size_t idle = 0;
  std::size_t in_call = 0;
  std::size_t stuck = 0;  // threads whose call timed out; not counted as workers
  bool shutdown = false;

  std::size_t available() const { return threads - stuck; }
  std::size_t max_threads() const { return options.workers + options.max_stuck; }
};

}  // namespace detail

namespace {

using detail::Batch;
using detail::ItemState;
using State = detail::StatfsPoolState;
using Clock = std::chrono::steady_clock;

// Takes the next unclaimed item off the queue. Caller holds the mutex.
bool claim(State& s, std::shared_ptr<Batch>& batch, std::size_t& index) {
  while (!s.queue.empty()) {
    auto& front = s.queue.front();
    if (front->next >= front->paths.size()) {  // fully claimed or given up
      s.queue.pop_front();
      continue;
    }
    batch = front;
    index = batch->next++;
    if (batch->next == batch->paths.size()) s.queue.pop_front();
    return true;
  }
  return false;
}

StatResult call(State& s, const std::string& path) {
  try {
    return s.fn(path);
  } catch (...) {
    StatResult r;
    r.error = EIO;
    return r;
  }
}

void worker_main(const std::shared_ptr<State>& state) {
  State& s = *state;
  std::unique_lock lock(s.mutex);
  while (!s.shutdown) {
    std::shared_ptr<Batch> batch;
    std::size_t i = 0;
    if (!claim(s, batch, i)) {
      // A thread that came back from a hung call leaves one worker too many.
      if (s.available() > s.options.workers) break;
      ++s.idle;
      s.work_cv.wait(lock);
      --s.idle;
      continue;
    }
    batch->states[i] = ItemState::Running;
    ++s.in_call;
    lock.unlock();
    StatResult result = call(s, batch->paths[i]);
    lock.lock();
    --s.in_call;
    if (batch->states[i] == ItemState::Abandoned) {
      // The caller gave up on this call and marked the path stuck: it has recovered.
      --s.stuck;
      if (auto it = s.stuck_paths.find(batch->paths[i]);
          it != s.stuck_paths.end() && --it->second == 0) {
        s.stuck_paths.erase(it);
      }
      continue;
    }
    batch->results[i] = result;
    batch->states[i] = ItemState::Done;
    if (++batch->done == batch->paths.size()) {
      // Notify unlocked so the caller does not wake up only to block on the mutex.
      lock.unlock();
      batch->done_cv.notify_one();
      lock.lock();
    }
  }
  --s.threads;
  s.exit_cv.notify_all();
}

// Caller holds the mutex. The thread owns a reference to the state, so it may outlive the
// pool (blocked in a call) without touching freed memory.
bool spawn(const std::shared_ptr<State>& state) {
  if (state->threads >= state->max_threads()) return false;
  try {
    std::thread([state] { worker_main(state); }).detach();
  } catch (const std::system_error&) {
    return false;
  }
  ++state->threads;
  return true;
}

void ensure_workers(const std::shared_ptr<State>& state) {
  while (state->available() < state->options.workers && spawn(state)) {
  }
}

}  // namespace

StatResult real_statfs(const std::string& path) {
  struct statfs buf {};
  int rc = 0;
  do {
    rc = ::statfs(path.c_str(), &buf);
  } while (rc != 0 && errno == EINTR);
  StatResult r;
  if (rc != 0) {
    r.error = errno;
    return r;
  }
  r.block_size = static_cast<std::uint64_t>(buf.f_bsize);
  r.blocks = buf.f_blocks;
  r.blocks_free = buf.f_bfree;
  r.blocks_avail = buf.f_bavail;
  r.files = buf.f_files;
  r.files_free = buf.f_ffree;
  return r;
}

StatfsPool::StatfsPool(StatFn fn, StatfsPoolOptions options) : state_(std::make_shared<State>()) {
  state_->fn = std::move(fn);
  if (options.workers == 0) options.workers = 1;
  if (options.stall <= std::chrono::milliseconds::zero())
    options.stall = std::chrono::milliseconds(1);
  state_->options = options;
}

StatfsPool::~StatfsPool() {
  std::unique_lock lock(state_->mutex);
  state_->shutdown = true;
  state_->work_cv.notify_all();
  // Idle threads exit at once; threads inside a call (possibly hung for ever) are left
  // to finish on their own: they hold the state and exit when the call returns.
  state_->exit_cv.wait(lock, [&] { return state_->threads == state_->in_call; });
}

std::vector<StatOutcome> StatfsPool::stat_all(const std::vector<std::string>& paths,
                                              Clock::time_point deadline) {
  using Status = StatOutcome::Status;
  std::vector<StatOutcome> out(paths.size());
  if (paths.empty()) return out;

  // Allocate outside the lock; the batch is filled with the paths that are not stuck.
  auto batch = std::make_shared<Batch>();
  batch->paths.reserve(paths.size());
  batch->results.resize(paths.size());
  batch->states.resize(paths.size(), ItemState::Pending);
  std::vector<std::size_t> where;  // batch item -> index in paths
  where.reserve(paths.size());

  State& s = *state_;
  std::unique_lock lock(s.mutex);
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (!s.stuck_paths.empty() && s.stuck_paths.count(paths[i]) != 0) {
      out[i].status = Status::Stuck;
      continue;
    }
    where.push_back(i);
  }
  if (where.empty()) return out;
  lock.unlock();
  for (auto i : where)
    batch->paths.push_back(paths[i]);
  const std::size_t n = batch->paths.size();
  auto now = Clock::now();
  if (now >= deadline) {
    for (auto i : where)
      out[i].status = Status::TimedOut;
    return out;
  }

  lock.lock();
  ensure_workers(state_);
  if (s.available() == 0) {
    for (auto i : where)
      out[i].status = Status::NoWorker;
    return out;
  }
  s.queue.push_back(batch);
  if (s.idle > 0) {
    lock.unlock();
    s.work_cv.notify_one();
    lock.lock();
  }

  auto stall_at = now + s.options.stall;
  while (batch->done < n) {
    batch->done_cv.wait_until(lock, std::min(deadline, stall_at));
    if (batch->done == n) break;
    now = Clock::now();
    if (now >= deadline) break;
    if (now >= stall_at) {
      // Items still unclaimed after a whole stall period: the threads are blocked (or
      // busy with other batches). Wake or add a thread so the rest is not held up.
      if (batch->next < n) {
        if (s.idle > 0) {
          s.work_cv.notify_one();
        } else {
          spawn(state_);
        }
      }
      stall_at = now + s.options.stall;
    }
  }

  bool gave_up = batch->done < n;
  for (std::size_t j = 0; j < n; ++j) {
    auto& o = out[where[j]];
    switch (batch->states[j]) {
      case ItemState::Done:
        o.status = Status::Answered;
        o.result = batch->results[j];
        break;
      case ItemState::Running:
        // Still inside the call: its thread stops counting as a worker, the path is
        // skipped until the call returns.
        batch->states[j] = ItemState::Abandoned;
        ++s.stuck;
        ++s.stuck_paths[batch->paths[j]];
        o.status = Status::TimedOut;
        break;
      case ItemState::Pending:
      case ItemState::Abandoned:
        batch->states[j] = ItemState::Abandoned;
        o.status = Status::TimedOut;
        break;
    }
  }
  if (gave_up) {
    batch->next = n;  // nobody claims the rest; the queue drops the batch
    ensure_workers(state_);
  }
  return out;
}

StatfsPool::Counts StatfsPool::counts() const {
  std::lock_guard lock(state_->mutex);
  return {state_->threads, state_->idle, state_->stuck};
}

}  // namespace afp::collectors
