#pragma once

// Progress of long work (an index build, an ingest of many songs) for the person waiting:
// on a terminal one line on stderr that is redrawn in place (\r), otherwise — a pipe, a
// file, a journal — a plain line every 10 s, so logs get a heartbeat and no control bytes.
// Used by `afp_exporter db optimize --apply` and `afp_workload ingest`.

#include <chrono>
#include <functional>
#include <mutex>
#include <ostream>
#include <string>
#include <string_view>

namespace afp::core {

class ProgressLine {
 public:
  using Clock = std::chrono::steady_clock;
  struct Options {
    bool terminal = false;  // see stderr_is_terminal()
    std::chrono::milliseconds log_every{10'000};
    std::chrono::milliseconds redraw_every{200};  // on a terminal, at most this often
    std::function<Clock::time_point()> now = [] { return Clock::now(); };
  };

  // `label` starts every line ("CREATE INDEX ix_fingerprints_hash", "ingest").
  ProgressLine(std::ostream& out, std::string label, Options options);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // The current state ("loading tuples in tree, blocks 512 of 2,048 (25.0 %)"). On a
  // terminal it is drawn at once (at most every redraw_every); otherwise a line is written
  // when log_every has passed since the start or the last line. Thread-safe.
  void update(std::string_view state);
  // Clears a terminal's line, so that what is printed next starts on a clean line. Idempotent;
  // the destructor calls it.
  void finish();
  // How many lines (or redraws) were written, for tests.
  int written() const;

 private:
  std::string line(std::string_view state, Clock::time_point now) const;

  std::ostream& out_;
  std::string label_;
  Options options_;
  Clock::time_point start_;
  Clock::time_point last_write_;
  mutable std::mutex mutex_;
  bool drawn_ = false;  // a terminal line is on the screen
  int written_ = 0;
};

// "512 of 2,048 (25.0 %)"; "512" alone when the total is not known (0 or less).
std::string count_of(long long done, long long total);
// "7 s", "2 min 05 s", "1 h 02 min".
std::string elapsed_text(std::chrono::milliseconds elapsed);
// Whether stderr is a terminal (isatty(2)).
bool stderr_is_terminal();

}  // namespace afp::core
