#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace afp::collectors {

namespace detail {
struct StatfsPoolState;
}

// What one statfs(2) call answered. Sizes are in blocks of block_size bytes.
struct StatResult {
  int error = 0;  // errno when the call failed, 0 on success
  std::uint64_t block_size = 0;
  std::uint64_t blocks = 0;
  std::uint64_t blocks_free = 0;
  std::uint64_t blocks_avail = 0;  // free blocks available to unprivileged users
  std::uint64_t files = 0;
  std::uint64_t files_free = 0;
};

// The seam tests replace: stats one path. May block for ever (dead NFS server).
using StatFn = std::function<StatResult(const std::string& path)>;

// The real call: ::statfs, retried on EINTR.
StatResult real_statfs(const std::string& path);

struct StatOutcome {
  enum class Status {
    Answered,  // result holds what the call returned (which may be an error)
    TimedOut,  // no answer before the deadline; a call still in progress marks the path stuck
    Stuck,     // an earlier call on this path has not returned; not called again
    NoWorker,  // every thread is stuck and the thread bound is reached; not called
  };
  Status status = Status::NoWorker;
  StatResult result;
};

struct StatfsPoolOptions {
  std::size_t workers = 2;  // threads kept available for calls that are not stuck
  // Replacements for threads hung in a call: at most workers + max_stuck threads in all.
  std::size_t max_stuck = 8;
  // A batch that makes no progress for this long gets another thread, so one slow or hung
  // call does not hold up the rest of the batch until the deadline.
  std::chrono::milliseconds stall{10};
};

// Runs stat calls on a small persistent pool of threads so that a hung call (dead network
// mount) never blocks the caller beyond its deadline.
//
// A scrape hands all its paths over at once (one queue push and one wake-up) and waits
// for the whole batch. A call still running at the deadline marks its path stuck: the
// thread running it no longer counts as a worker (a replacement is spawned, up to
// max_stuck stuck threads) and later batches report the path as Stuck without calling
// until the hung call returns. Safe for concurrent callers; the lock is only held for
// bookkeeping, never across a call. All shared state lives behind a shared_ptr held by
// each thread, so the destructor detaches threads blocked in a call instead of waiting
// for them, and they exit on their own when (if ever) the call returns.
class StatfsPool {
 public:
  explicit StatfsPool(StatFn fn = real_statfs, StatfsPoolOptions options = {});
  ~StatfsPool();
  StatfsPool(const StatfsPool&) = delete;
  StatfsPool& operator=(const StatfsPool&) = delete;

  // One outcome per path, in order. Waits until every call answered or until deadline.
  std::vector<StatOutcome> stat_all(const std::vector<std::string>& paths,
                                    std::chrono::steady_clock::time_point deadline);

  struct Counts {
    std::size_t threads = 0;  // alive, including stuck ones
    std::size_t idle = 0;
    std::size_t stuck = 0;  // threads in a call that timed out
  };
  Counts counts() const;

 private:
  std::shared_ptr<detail::StatfsPoolState> state_;
};

}  // namespace afp::collectors
