#pragma once

#include <atomic>
#include <functional>
#include <initializer_list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace afp::log {

enum class Level { debug, info, warn, error };
enum class Format { logfmt, json };

std::optional<Level> parse_level(std::string_view text);
std::optional<Format> parse_format(std::string_view text);

struct Field {
  std::string_view key;
  std::string value;
};

// Structured, line-at-a-time logger (logfmt or JSON, as node_exporter's promlog).
// One instance is created by main and handed to whoever logs; there is no global logger.
class Logger {
 public:
  using Sink = std::function<void(std::string_view line)>;

  // The default sink writes each line to stderr with a single write(2).
  explicit Logger(Level level = Level::info, Format format = Format::logfmt, Sink sink = {});

  void set_level(Level level) { level_.store(level, std::memory_order_relaxed); }
  void set_format(Format format) { format_.store(format, std::memory_order_relaxed); }
  bool enabled(Level level) const { return level >= level_.load(std::memory_order_relaxed); }

  void log(Level level, std::string_view msg, std::initializer_list<Field> fields = {});
  void debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
    log(Level::debug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<Field> fields = {}) {
    log(Level::info, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
    log(Level::warn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<Field> fields = {}) {
    log(Level::error, msg, fields);
  }

 private:
  std::atomic<Level> level_;
  std::atomic<Format> format_;
  Sink sink_;
  std::mutex write_mutex_;
};

}  // namespace afp::log
