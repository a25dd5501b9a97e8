#pragma once

// The frame `status`, `profile` and `db` run in: their exit codes, --help, and what a bad
// flag prints. Each subcommand keeps its own flags (read with cli/flags.h) and its own work.

#include <ostream>
#include <stdexcept>
#include <string>
#include <string_view>

namespace afp::cli {

inline constexpr int kExitOk = 0;       // all passed, or nothing to do
inline constexpr int kExitProblem = 1;  // a warning or failure found, or work left to do
inline constexpr int kExitError = 2;    // bad flags, an error, or nothing could be judged

struct Subcommand {
  std::string_view name;           // "status": what err's lines start with
  std::string usage;               // what --help prints on out
  bool usage_after_error = false;  // db: a bad verb or flag is followed by the usage on err
};

// Parses the flags with `parse` (an Options with a `help` member; std::invalid_argument with
// the message for a bad flag), answers --help, and otherwise returns `run(options)`. A bad
// flag is one line "<name>: <message>" on err and kExitError, before anything else happens.
template <typename Parse, typename Run>
int run_subcommand(const Subcommand& command, std::ostream& out, std::ostream& err, Parse parse,
                   Run run) {
  decltype(parse()) options;
  try {
    options = parse();
  } catch (const std::invalid_argument& e) {
    err << command.name << ": " << e.what() << "\n";
    if (command.usage_after_error) err << command.usage;
    return kExitError;
  }
  if (options.help) {
    out << command.usage;
    return kExitOk;
  }
  return run(options);
}

// The exit code of a judged report, saying so on err when nothing could be judged (a check
// that checked nothing is not a pass).
inline int judged_exit(const Subcommand& command, int code, std::ostream& err) {
  if (code == kExitError) err << command.name << ": nothing could be judged\n";
  return code;
}

}  // namespace afp::cli
