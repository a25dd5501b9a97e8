#include "core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace afp::core {

namespace {

std::string thousands(long long n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

}  // namespace

std::string count_of(long long done, long long total) {
  if (total <= 0) return thousands(done);
  char percent[32];
  std::snprintf(percent, sizeof percent, "%.1f",
                100.0 * static_cast<double>(done) / static_cast<double>(total));
  return thousands(done) + " of " + thousands(total) + " (" + percent + " %)";
}

std::string elapsed_text(std::chrono::milliseconds elapsed) {
  long long s = std::chrono::duration_cast<std::chrono::seconds>(elapsed).count();
  char text[48];
  if (s < 60) {
    std::snprintf(text, sizeof text, "%lld s", s);
  } else if (s < 3600) {
    std::snprintf(text, sizeof text, "%lld min %02lld s", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%lld h %02lld min", s / 3600, s % 3600 / 60);
  }
  return text;
}

bool stderr_is_terminal() {
  return ::isatty(STDERR_FILENO) == 1;
}

ProgressLine::ProgressLine(std::ostream& out, std::string label, Options options)
    : out_(out), label_(std::move(label)), options_(std::move(options)) {
  start_ = options_.now();
  last_write_ = start_;
}

ProgressLine::~ProgressLine() {
  finish();
}

std::string ProgressLine::line(std::string_view state, Clock::time_point now) const {
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - start_);
  std::string text = label_ + ": ";
  text.append(state);
  text += ", elapsed " + elapsed_text(elapsed);
  return text;
}

void ProgressLine::update(std::string_view state) {
  std::lock_guard lock(mutex_);
  auto now = options_.now();
  if (options_.terminal) {
    if (drawn_ && now - last_write_ < options_.redraw_every) return;
    // \r to the line's start, the text, then erase what a longer previous text left.
    out_ << '\r' << line(state, now) << "\x1b[K" << std::flush;
    drawn_ = true;
  } else {
    if (now - last_write_ < options_.log_every) return;
    out_ << line(state, now) << '\n' << std::flush;
  }
  last_write_ = now;
  ++written_;
}

void ProgressLine::finish() {
  std::lock_guard lock(mutex_);
  if (!drawn_) return;
  out_ << "\r\x1b[K" << std::flush;
  drawn_ = false;
}

int ProgressLine::written() const {
  std::lock_guard lock(mutex_);
  return written_;
}

}  // namespace afp::core
