#include "db_stall.h"

#include <charconv>
#include <cmath>

#include "number_text.h"
#include "pg/connection.h"

namespace afp::workload {

namespace {

constexpr auto kGap = std::chrono::milliseconds(200);
constexpr auto kRetryAfterError = std::chrono::seconds(1);
constexpr auto kCancelEvery = std::chrono::milliseconds(100);
constexpr auto kSetupDeadline = std::chrono::seconds(10);

std::chrono::milliseconds millis(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(seconds * 1000)));
}

// A cancelled stall leaves its transaction open and failed: end it, and the lock with it.
void roll_back(pg::Connection& conn) {
  try {
    if (conn.connected()) conn.query("ROLLBACK", pg::Clock::now() + kSetupDeadline);
  } catch (const pg::PgError&) {
    // The server ends the transaction with the session anyway.
  }
}

}  // namespace

DbStall::DbStall(std::string dsn, double seconds, log::Logger& log)
    : dsn_(std::move(dsn)), seconds_(seconds), log_(log) {
  thread_ = std::thread(&DbStall::loop, this);
}

DbStall::~DbStall() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
  // The thread may be waiting for the lock: cancel until it is out.
  while (!exited_) {
    lock.unlock();
    cancel_backend();
    lock.lock();
    wake_.wait_for(lock, kCancelEvery, [this] { return exited_; });
  }
  lock.unlock();
  thread_.join();
}

bool DbStall::pause(std::chrono::milliseconds how_long) {
  std::unique_lock lock(mutex_);
  return !wake_.wait_for(lock, how_long, [this] { return stopping_; });
}

void DbStall::loop() {
  pg::ConnectionOptions options;
  // LOCK TABLE waits behind the app's look-ups in flight, never long.
  options.statement_timeout = std::chrono::seconds(30);
  options.max_backoff = std::chrono::seconds(5);
  pg::Connection conn(dsn_, options, log_);
  // The lock is held by a session idle in its transaction, as a forgotten transaction or a
  // migration holds it: the server's statistics then show the app's statements waiting, and
  // no slow statement of the fault's own (a pg_sleep would be the slowest one there).
  const std::string take_lock = "BEGIN; LOCK TABLE fingerprints IN ACCESS EXCLUSIVE MODE";
  log_.info("fault db-stall on", {{"seconds", number_text(seconds_)}});
  std::string last_error;
  while (pause(std::chrono::milliseconds(0))) {
    try {
      if (!conn.connected()) {
        auto r = conn.query("SELECT pg_backend_pid()", pg::Clock::now() + kSetupDeadline);
        int pid = 0;
        auto text = r.value(0, 0);
        std::from_chars(text.data(), text.data() + text.size(), pid);
        backend_pid_.store(pid);
      }
      in_stall_.store(true);
      conn.query(take_lock, pg::Clock::now() + options.statement_timeout + std::chrono::seconds(5));
      in_stall_.store(false);
      bool holding = pause(millis(seconds_));
      conn.query(holding ? "COMMIT" : "ROLLBACK", pg::Clock::now() + kSetupDeadline);
      last_error.clear();
      if (!holding || !pause(kGap)) break;
    } catch (const pg::PgError& e) {
      in_stall_.store(false);
      roll_back(conn);
      if (!pause(std::chrono::milliseconds(0))) break;  // our own cancel
      if (e.what() != last_error) log_.warn("fault db-stall: cannot lock", {{"err", e.what()}});
      last_error = e.what();
      if (!pause(kRetryAfterError)) break;
    }
  }
  log_.info("fault db-stall off");
  std::lock_guard lock(mutex_);
  exited_ = true;
  wake_.notify_all();
}

void DbStall::cancel_backend() {
  int pid = backend_pid_.load();
  if (pid == 0 || !in_stall_.load()) return;
  try {
    log::Logger quiet(log::Level::error);
    pg::Connection conn(dsn_, {}, quiet);
    // The stall may end on its own meanwhile: a pid that is gone is no news worth a WARNING.
    conn.query(
        "SET client_min_messages = error; SELECT pg_cancel_backend(" + std::to_string(pid) + ")",
        pg::Clock::now() + kSetupDeadline);
  } catch (const pg::PgError& e) {
    log_.debug("fault db-stall: cannot cancel the stall", {{"err", e.what()}});
  }
}

}  // namespace afp::workload
