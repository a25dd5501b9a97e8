#include "log/logger.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace afp::log {

namespace {

std::string_view level_name(Level level) {
  switch (level) {
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
  }
  return "info";
}

std::string timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

void append_json_string(std::string& out, std::string_view text) {
  out += '"';
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

// logfmt quotes a value that is empty or holds a space, quote, equals sign or control byte.
void append_logfmt_value(std::string& out, std::string_view text) {
  bool needs_quotes = text.empty();
  for (unsigned char c : text) {
    if (c <= ' ' || c == '"' || c == '=' || c == '\\') needs_quotes = true;
  }
  if (needs_quotes) {
    append_json_string(out, text);
  } else {
    out += text;
  }
}

void write_stderr(std::string_view line) {
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = ::write(STDERR_FILENO, data, left);
    if (n <= 0) return;  // nowhere else to report a failing stderr
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

std::optional<Level> parse_level(std::string_view text) {
  if (text == "debug") return Level::debug;
  if (text == "info") return Level::info;
  if (text == "warn") return Level::warn;
  if (text == "error") return Level::error;
  return std::nullopt;
}

std::optional<Format> parse_format(std::string_view text) {
  if (text == "logfmt") return Format::logfmt;
  if (text == "json") return Format::json;
  return std::nullopt;
}

Logger::Logger(Level level, Format format, Sink sink)
    : level_(level), format_(format), sink_(sink ? std::move(sink) : Sink(write_stderr)) {}

void Logger::log(Level level, std::string_view msg, std::initializer_list<Field> fields) {
  if (!enabled(level)) return;
  std::string line;
  line.reserve(128);
  if (format_.load(std::memory_order_relaxed) == Format::json) {
    line += "{\"ts\":";
    append_json_string(line, timestamp());
    line += ",\"level\":";
    append_json_string(line, level_name(level));
    line += ",\"msg\":";
    append_json_string(line, msg);
    for (const auto& field : fields) {
      line += ',';
      append_json_string(line, field.key);
      line += ':';
      append_json_string(line, field.value);
    }
    line += "}\n";
  } else {
    line += "ts=";
    line += timestamp();
    line += " level=";
    line += level_name(level);
    line += " msg=";
    append_logfmt_value(line, msg);
    for (const auto& field : fields) {
      line += ' ';
      line += field.key;
      line += '=';
      append_logfmt_value(line, field.value);
    }
    line += '\n';
  }
  std::lock_guard lock(write_mutex_);
  sink_(line);
}

}  // namespace afp::log
