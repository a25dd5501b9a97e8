#pragma once

// afp_workload's command line: one subcommand and its flags (--name value or --name=value).
// Every problem is a UsageError with a one-line message; main prints it and exits 2.

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "ingest.h"
#include "log/logger.h"

namespace afp::workload {

class UsageError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct HelpCommand {
  std::string text;
};
struct InitCommand {
  std::string dsn;
  log::Level log_level = log::Level::info;
};
struct IngestCommand {
  std::string dsn;
  IngestOptions ingest;  // songs > 0
  std::string report = "none";
  log::Level log_level = log::Level::info;
};
struct ServeCommand {
  std::string dsn;
  // The faults' and their clean-up's sessions: a role of their own, so that the exporter
  // can leave their statements out of the app's (--pg.statements.exclude-users).
  std::string fault_dsn;
  std::string listen = "127.0.0.1:8080";
  std::string probe_listen;  // empty: no probe listener
  std::string report = "none";
  double rate = 2;
  int concurrency = 4;
  double unknown_ratio = 0.2;
  double clip_seconds = 5;
  std::vector<std::string> faults;  // checked specs, applied in order
  IngestOptions ingest;             // songs == 0: no ingest
  log::Level log_level = log::Level::info;
};
struct FaultCommand {
  std::string url;
  std::vector<std::string> specs;  // checked
};
struct IdentifyCommand {
  std::string dsn;
  std::string file;
  log::Level log_level = log::Level::warn;
};
struct SynthCommand {
  std::uint64_t seed = 0;
  double seconds = 30;      // the song's length (as ingested with --song-seconds)
  double start = 0;         // with clip_seconds: where the clip starts
  double clip_seconds = 0;  // 0: the whole song
  std::string out;
};

using Command = std::variant<HelpCommand, InitCommand, IngestCommand, ServeCommand, FaultCommand,
                             IdentifyCommand, SynthCommand>;

// Reads the environment through `getenv` (the DSN's AFP_PG_DSN / AFP_PG_DSN_FILE) so tests
// need not change the process's. Throws UsageError.
Command parse_command_line(const std::vector<std::string>& args,
                           const std::function<const char*(const char*)>& getenv);

// The --help text of a subcommand ("" for the overview).
std::string usage(std::string_view command);

}  // namespace afp::workload
