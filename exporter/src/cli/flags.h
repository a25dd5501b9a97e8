#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace afp::cli {

// Reads a subcommand's flags: --name, --name=value and --name value. Every problem throws
// std::invalid_argument with the one-line message the subcommand prints.
class FlagReader {
 public:
  FlagReader(const std::vector<std::string>& args, std::string_view command, std::size_t start = 0)
      : args_(args), command_(command), i_(start) {}

  // Moves to the next flag; false after the last. A bare word is an error.
  bool next();
  bool help() const { return name_ == "help" || name_ == "h"; }
  bool is(std::string_view name) const { return name_ == name; }
  const std::string& name() const { return name_; }
  // For switches: an inline value is an error.
  void no_value() const;
  // The flag's value (inline or the next argument); empty is an error.
  std::string value();
  // The value as a duration above zero ("500ms", "2s", "1h").
  std::chrono::milliseconds duration();
  [[noreturn]] void unknown() const;

 private:
  const std::vector<std::string>& args_;
  std::string command_;
  std::size_t i_;
  std::string name_;
  std::optional<std::string> inline_value_;
};

}  // namespace afp::cli
