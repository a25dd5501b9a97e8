#pragma once

// One subcommand's arguments, in order: flags ("--name value", "--name=value", "-h" for
// --help) and positional words. Every problem is a UsageError naming the flag.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli.h"
#include "log/logger.h"

namespace afp::workload {

class ArgReader {
 public:
  // args[0] is the subcommand, named in the messages.
  explicit ArgReader(const std::vector<std::string>& args);

  // Moves to the next argument; false after the last.
  bool next();
  bool is_flag() const { return flag_; }
  bool is(std::string_view name) const { return flag_ && name_ == name; }
  const std::string& word() const { return word_; }  // a positional argument

  // The flag's value: inline or the next argument; empty is an error.
  std::string value();
  // The value as a number in [min, max] (or (min, max] when above_min).
  double number(double min, double max, bool above_min = false);
  long long integer(long long min, long long max);
  log::Level log_level();

  // The current argument is not one the subcommand takes.
  [[noreturn]] void unexpected() const;

 private:
  const std::vector<std::string>& args_;
  std::size_t i_ = 1;
  bool flag_ = false;
  std::string name_, word_;
  std::optional<std::string> inline_value_;
};

}  // namespace afp::workload
