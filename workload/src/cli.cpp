#include "cli.h"

#include <limits>
#include <thread>

#include "arg_reader.h"
#include "core/secret.h"
#include "fault_spec.h"

namespace afp::workload {

namespace {

using Getenv = std::function<const char*(const char*)>;

// --dsn, else AFP_PG_DSN, else the file AFP_PG_DSN_FILE names.
std::string resolve_dsn(std::string dsn, const Getenv& getenv) {
  if (!dsn.empty()) return dsn;
  static const std::string kNoFile;
  try {
    auto secret = core::load_secret(
        {"AFP_PG_DSN", getenv("AFP_PG_DSN"), getenv("AFP_PG_DSN_FILE"), "", kNoFile});
    if (secret) return secret->value;
  } catch (const core::SecretError& e) {
    throw UsageError(e.what());
  }
  throw UsageError("no database: give --dsn DSN or set AFP_PG_DSN or AFP_PG_DSN_FILE");
}

// --fault-dsn, else AFP_FAULT_PG_DSN, else the file AFP_FAULT_PG_DSN_FILE names, else the
// app's own DSN.
std::string resolve_fault_dsn(std::string dsn, const std::string& app_dsn, const Getenv& getenv) {
  if (!dsn.empty()) return dsn;
  static const std::string kNoFile;
  try {
    auto secret = core::load_secret({"AFP_FAULT_PG_DSN", getenv("AFP_FAULT_PG_DSN"),
                                     getenv("AFP_FAULT_PG_DSN_FILE"), "", kNoFile});
    if (secret) return secret->value;
  } catch (const core::SecretError& e) {
    throw UsageError(e.what());
  }
  return app_dsn;
}

std::string checked_fault(std::string spec) {
  try {
    parse_fault_spec(spec, std::thread::hardware_concurrency());
  } catch (const FaultSpecError& e) {
    throw UsageError(e.what());
  }
  return spec;
}

// Flags ingest and serve share; false when `r` holds none of them.
bool ingest_flag(ArgReader& r, IngestOptions& o) {
  if (r.is("songs")) {
    o.songs = static_cast<int>(r.integer(1, 1'000'000));
  } else if (r.is("first-seed")) {
    o.first_seed = static_cast<std::uint64_t>(r.integer(0, 999'999));
  } else if (r.is("song-seconds")) {
    o.song_seconds = r.number(0, 600, true);
  } else if (r.is("jobs")) {
    o.jobs = static_cast<int>(r.integer(1, 64));
  } else {
    return false;
  }
  return true;
}

void check_seed_range(const IngestOptions& o, std::string_view command) {
  // Seeds from 1,000,000 up are the load generator's unknown songs.
  if (o.songs > 0 && o.first_seed + static_cast<std::uint64_t>(o.songs) > 1'000'000) {
    throw UsageError(std::string(command) +
                     ": --first-seed + --songs must stay below 1000000 (the unknown songs' seeds)");
  }
}

Command parse_init(ArgReader& r, const Getenv& getenv) {
  InitCommand c;
  while (r.next()) {
    if (r.is("help")) return HelpCommand{usage("init")};
    if (r.is("dsn"))
      c.dsn = r.value();
    else if (r.is("log-level"))
      c.log_level = r.log_level();
    else
      r.unexpected();
  }
  c.dsn = resolve_dsn(c.dsn, getenv);
  return c;
}

Command parse_ingest(ArgReader& r, const Getenv& getenv) {
  IngestCommand c;
  while (r.next()) {
    if (r.is("help")) return HelpCommand{usage("ingest")};
    if (r.is("dsn"))
      c.dsn = r.value();
    else if (r.is("report"))
      c.report = r.value();
    else if (r.is("log-level"))
      c.log_level = r.log_level();
    else if (!r.is_flag() || !ingest_flag(r, c.ingest))
      r.unexpected();
  }
  if (c.ingest.songs == 0) throw UsageError("ingest: --songs N is required");
  check_seed_range(c.ingest, "ingest");
  c.dsn = resolve_dsn(c.dsn, getenv);
  return c;
}

Command parse_serve(ArgReader& r, const Getenv& getenv) {
  ServeCommand c;
  while (r.next()) {
    if (r.is("help")) return HelpCommand{usage("serve")};
    if (r.is("dsn"))
      c.dsn = r.value();
    else if (r.is("fault-dsn"))
      c.fault_dsn = r.value();
    else if (r.is("listen"))
      c.listen = r.value();
    else if (r.is("probe-listen"))
      c.probe_listen = r.value();
    else if (r.is("report"))
      c.report = r.value();
    else if (r.is("rate"))
      c.rate = r.number(0, 1000);
    else if (r.is("concurrency"))
      c.concurrency = static_cast<int>(r.integer(1, 256));
    else if (r.is("unknown-ratio"))
      c.unknown_ratio = r.number(0, 1);
    else if (r.is("clip-seconds"))
      c.clip_seconds = r.number(0, 120, true);
    else if (r.is("fault"))
      c.faults.push_back(checked_fault(r.value()));
    else if (r.is("log-level"))
      c.log_level = r.log_level();
    else if (!r.is_flag() || !ingest_flag(r, c.ingest))
      r.unexpected();
  }
  check_seed_range(c.ingest, "serve");
  for (const auto& spec : c.faults) {
    if (spec == fault_name(FaultName::ProbeUnreachable) && c.probe_listen.empty())
      throw UsageError("serve: --fault probe-unreachable needs --probe-listen HOST:PORT");
  }
  c.dsn = resolve_dsn(c.dsn, getenv);
  c.fault_dsn = resolve_fault_dsn(c.fault_dsn, c.dsn, getenv);
  return c;
}

Command parse_fault(ArgReader& r) {
  FaultCommand c;
  while (r.next()) {
    if (r.is("help")) return HelpCommand{usage("fault")};
    if (r.is("url"))
      c.url = r.value();
    else if (!r.is_flag())
      c.specs.push_back(checked_fault(r.word()));
    else
      r.unexpected();
  }
  if (c.url.empty()) throw UsageError("fault: --url http://HOST:PORT of the service is required");
  if (c.specs.empty())
    throw UsageError("fault: give at least one SPEC (NAME[=VALUE] or clear[=NAME])");
  return c;
}

Command parse_identify(ArgReader& r, const Getenv& getenv) {
  IdentifyCommand c;
  while (r.next()) {
    if (r.is("help")) return HelpCommand{usage("identify")};
    if (r.is("dsn"))
      c.dsn = r.value();
    else if (r.is("log-level"))
      c.log_level = r.log_level();
    else if (!r.is_flag() && c.file.empty())
      c.file = r.word();
    else
      r.unexpected();
  }
  if (c.file.empty()) throw UsageError("identify: the audio FILE is required");
  c.dsn = resolve_dsn(c.dsn, getenv);
  return c;
}

Command parse_synth(ArgReader& r) {
  SynthCommand c;
  bool seed = false;
  while (r.next()) {
    if (r.is("help")) return HelpCommand{usage("synth")};
    if (r.is("seed")) {
      c.seed = static_cast<std::uint64_t>(r.integer(0, std::numeric_limits<long long>::max()));
      seed = true;
    } else if (r.is("seconds")) {
      c.seconds = r.number(0, 600, true);
    } else if (r.is("start")) {
      c.start = r.number(0, 600);
    } else if (r.is("clip-seconds")) {
      c.clip_seconds = r.number(0, 600, true);
    } else if (r.is("out")) {
      c.out = r.value();
    } else {
      r.unexpected();
    }
  }
  if (!seed) throw UsageError("synth: --seed N is required");
  if (c.out.empty()) throw UsageError("synth: --out FILE.wav is required");
  if (c.start > 0 && c.clip_seconds == 0) throw UsageError("synth: --start needs --clip-seconds");
  if (c.start + c.clip_seconds > c.seconds) {
    throw UsageError(
        "synth: the clip must end within the song (--start + --clip-seconds <= --seconds)");
  }
  return c;
}

}  // namespace

Command parse_command_line(const std::vector<std::string>& args, const Getenv& getenv) {
  if (args.empty()) {
    throw UsageError(
        "no command: init, ingest, serve, fault, identify or synth (see afp_workload "
        "--help)");
  }
  if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") return HelpCommand{usage("")};
  const std::string& command = args[0];
  ArgReader r(args);
  if (command == "init") return parse_init(r, getenv);
  if (command == "ingest") return parse_ingest(r, getenv);
  if (command == "serve") return parse_serve(r, getenv);
  if (command == "fault") return parse_fault(r);
  if (command == "identify") return parse_identify(r, getenv);
  if (command == "synth") return parse_synth(r);
  throw UsageError("unknown command \"" + command + "\" (see afp_workload --help)");
}

}  // namespace afp::workload
