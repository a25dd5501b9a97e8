// afp_workload's command line: every subcommand's flags and defaults, the DSN from the
// environment, and a clear UsageError (exit 2) for each kind of mistake.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "cli.h"

using namespace afp::workload;

namespace {

struct Environment {
  std::map<std::string, std::string> values;
  const char* operator()(const char* name) const {
    auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  }
};

Command parse(std::vector<std::string> args, Environment env = {}) {
  return parse_command_line(args, env);
}

template <typename T>
T parse_as(std::vector<std::string> args, Environment env = {}) {
  auto command = parse(std::move(args), env);
  REQUIRE(std::holds_alternative<T>(command));
  return std::get<T>(command);
}

std::string refusal(std::vector<std::string> args, Environment env = {}) {
  try {
    parse(std::move(args), env);
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("cli: serve's defaults and every flag", "[cli]") {
  auto d = parse_as<ServeCommand>({"serve", "--dsn", "postgresql://x/db"});
  CHECK(d.dsn == "postgresql://x/db");
  CHECK(d.fault_dsn == "postgresql://x/db");  // the faults share the app's role by default
  CHECK(d.listen == "127.0.0.1:8080");
  CHECK(d.probe_listen.empty());
  CHECK(d.report == "none");
  CHECK(d.rate == 2);
  CHECK(d.concurrency == 4);
  CHECK(d.unknown_ratio == 0.2);
  CHECK(d.clip_seconds == 5);
  CHECK(d.faults.empty());
  CHECK(d.ingest.songs == 0);
  CHECK(d.ingest.first_seed == 1);
  CHECK(d.ingest.song_seconds == 30);
  CHECK(d.ingest.jobs == 2);

  auto s = parse_as<ServeCommand>({"serve",
                                   "--dsn=d",
                                   "--fault-dsn",
                                   "postgresql://faults@x/db",
                                   "--listen",
                                   ":0",
                                   "--probe-listen",
                                   "127.0.0.1:8081",
                                   "--report",
                                   "statsd://127.0.0.1:9125",
                                   "--rate=0.5",
                                   "--concurrency",
                                   "8",
                                   "--unknown-ratio",
                                   "0",
                                   "--clip-seconds",
                                   "7.5",
                                   "--fault",
                                   "drop-index",
                                   "--fault=errors=0.1",
                                   "--fault",
                                   "probe-unreachable",
                                   "--songs",
                                   "300",
                                   "--first-seed",
                                   "100",
                                   "--song-seconds",
                                   "20",
                                   "--jobs",
                                   "3",
                                   "--log-level",
                                   "debug"});
  CHECK(s.fault_dsn == "postgresql://faults@x/db");
  CHECK(s.listen == ":0");
  CHECK(s.probe_listen == "127.0.0.1:8081");
  CHECK(s.report == "statsd://127.0.0.1:9125");
  CHECK(s.rate == 0.5);
  CHECK(s.concurrency == 8);
  CHECK(s.unknown_ratio == 0);
  CHECK(s.clip_seconds == 7.5);
  CHECK(s.faults == std::vector<std::string>{"drop-index", "errors=0.1", "probe-unreachable"});
  CHECK(s.ingest.songs == 300);
  CHECK(s.ingest.first_seed == 100);
  CHECK(s.ingest.song_seconds == 20);
  CHECK(s.ingest.jobs == 3);
  CHECK(s.log_level == afp::log::Level::debug);
}

TEST_CASE("cli: the other subcommands", "[cli]") {
  CHECK(parse_as<InitCommand>({"init", "--dsn", "d"}).dsn == "d");
  auto ingest = parse_as<IngestCommand>({"ingest", "--dsn", "d", "--songs", "10"});
  CHECK(ingest.ingest.songs == 10);
  CHECK(ingest.ingest.song_seconds == 30);
  CHECK(ingest.report == "none");
  auto fault = parse_as<FaultCommand>(
      {"fault", "--url", "http://127.0.0.1:8080", "drop-index", "clear=cpu"});
  CHECK(fault.url == "http://127.0.0.1:8080");
  CHECK(fault.specs == std::vector<std::string>{"drop-index", "clear=cpu"});
  auto identify = parse_as<IdentifyCommand>({"identify", "--dsn", "d", "clip.wav"});
  CHECK(identify.file == "clip.wav");
  auto synth = parse_as<SynthCommand>({"synth", "--seed", "7", "--out", "x.wav"});
  CHECK(synth.seed == 7);
  CHECK(synth.seconds == 30);
  CHECK(synth.clip_seconds == 0);
  auto clip = parse_as<SynthCommand>({"synth", "--seed", "7", "--seconds", "20", "--start", "5",
                                      "--clip-seconds", "10", "--out", "x.wav"});
  CHECK(clip.start == 5);
  CHECK(clip.clip_seconds == 10);
}

TEST_CASE("cli: --help anywhere prints the command's usage", "[cli]") {
  for (const char* command : {"init", "ingest", "serve", "fault", "identify", "synth"}) {
    INFO(command);
    auto help = parse_as<HelpCommand>({command, "--help"});
    CHECK_THAT(help.text, Catch::StartsWith(std::string("usage: afp_workload ") + command));
    CHECK(parse_as<HelpCommand>({command, "-h"}).text == help.text);
  }
  CHECK(parse_as<HelpCommand>({"serve", "--rate", "3", "--help"}).text == usage("serve"));
  CHECK_THAT(parse_as<HelpCommand>({"--help"}).text, Catch::Contains("commands:"));
  CHECK_THAT(usage("serve"), Catch::Contains("slow-fingerprint[=SECONDS]"));
  for (const char* fault : {"slow-api[=SECONDS]", "memory[=RATIO]", "dead-rows[=RATIO]",
                            "stale-stats[=RATIO]", "probe-unreachable"}) {
    CHECK_THAT(usage("serve"), Catch::Contains(fault));
    CHECK_THAT(usage("fault"), Catch::Contains(fault));
  }
  CHECK_THAT(usage("serve"), Catch::Contains("--probe-listen HOST:PORT"));
}

TEST_CASE("cli: the DSN comes from the flag, AFP_PG_DSN or AFP_PG_DSN_FILE", "[cli]") {
  CHECK(parse_as<InitCommand>({"init"}, {{{"AFP_PG_DSN", "from-env"}}}).dsn == "from-env");
  CHECK(parse_as<InitCommand>({"init", "--dsn", "flag"}, {{{"AFP_PG_DSN", "env"}}}).dsn == "flag");
  std::string path = "/tmp/afp_workload_cli_dsn_" + std::to_string(getpid());
  std::ofstream(path) << "from-file\n";
  CHECK(parse_as<InitCommand>({"init"}, {{{"AFP_PG_DSN_FILE", path}}}).dsn == "from-file");
  std::remove(path.c_str());
  CHECK_THAT(refusal({"init"}, {{{"AFP_PG_DSN_FILE", path}}}), Catch::Contains("AFP_PG_DSN_FILE"));
  CHECK_THAT(refusal({"serve"}), Catch::Contains("give --dsn DSN or set AFP_PG_DSN"));
  CHECK_THAT(refusal({"identify", "x.wav"}), Catch::Contains("give --dsn DSN"));
}

TEST_CASE("cli: the faults' DSN comes from --fault-dsn, AFP_FAULT_PG_DSN(_FILE) or --dsn",
          "[cli]") {
  const Environment both{{{"AFP_PG_DSN", "app"}, {"AFP_FAULT_PG_DSN", "faults"}}};
  CHECK(parse_as<ServeCommand>({"serve"}, both).fault_dsn == "faults");
  CHECK(parse_as<ServeCommand>({"serve"}, both).dsn == "app");
  CHECK(parse_as<ServeCommand>({"serve", "--fault-dsn", "flag"}, both).fault_dsn == "flag");
  std::string path = "/tmp/afp_workload_cli_fault_dsn_" + std::to_string(getpid());
  std::ofstream(path) << "faults-from-file\n";
  CHECK(
      parse_as<ServeCommand>({"serve"}, {{{"AFP_PG_DSN", "app"}, {"AFP_FAULT_PG_DSN_FILE", path}}})
          .fault_dsn == "faults-from-file");
  std::remove(path.c_str());
  CHECK_THAT(refusal({"serve"}, {{{"AFP_PG_DSN", "app"}, {"AFP_FAULT_PG_DSN_FILE", path}}}),
             Catch::Contains("AFP_FAULT_PG_DSN_FILE"));
}

TEST_CASE("cli: mistakes are UsageErrors that say what is wrong", "[cli]") {
  const Environment db{{{"AFP_PG_DSN", "d"}}};
  CHECK_THAT(refusal({}), Catch::Contains("no command"));
  CHECK_THAT(refusal({"run"}), Catch::Contains("unknown command \"run\""));
  CHECK_THAT(refusal({"serve", "--port", "1"}, db),
             Catch::Contains("unknown flag --port (see afp_workload serve --help)"));
  CHECK_THAT(refusal({"serve", "extra"}, db), Catch::Contains("unexpected argument \"extra\""));
  CHECK_THAT(refusal({"serve", "--rate"}, db), Catch::Contains("flag --rate needs a value"));
  CHECK_THAT(refusal({"serve", "--rate="}, db), Catch::Contains("flag --rate needs a value"));
  CHECK_THAT(refusal({"serve", "--rate", "fast"}, db), Catch::Contains("\"fast\" is not a number"));
  CHECK_THAT(refusal({"serve", "--rate", "-1"}, db), Catch::Contains("out of range (0 to 1000)"));
  CHECK_THAT(refusal({"serve", "--concurrency", "2.5"}, db),
             Catch::Contains("\"2.5\" is not a whole number"));
  CHECK_THAT(refusal({"serve", "--concurrency", "0"}, db), Catch::Contains("out of range"));
  CHECK_THAT(refusal({"serve", "--unknown-ratio", "1.5"}, db), Catch::Contains("out of range"));
  CHECK_THAT(refusal({"serve", "--clip-seconds", "0"}, db), Catch::Contains("above 0"));
  CHECK_THAT(refusal({"serve", "--fault", "meltdown"}, db),
             Catch::Contains("fault \"meltdown\": unknown fault"));
  CHECK_THAT(refusal({"serve", "--songs", "10", "--first-seed", "999995"}, db),
             Catch::Contains("below 1000000"));
  CHECK_THAT(refusal({"serve", "--log-level", "loud"}, db), Catch::Contains("\"loud\""));
  CHECK_THAT(refusal({"serve", "--fault", "probe-unreachable"}, db),
             Catch::Contains("--fault probe-unreachable needs --probe-listen HOST:PORT"));
  CHECK_THAT(refusal({"serve", "--fault", "memory=0.99"}, db),
             Catch::Contains("fault \"memory=0.99\": the value must be a ratio from 0.1 to 0.97"));
  CHECK_THAT(refusal({"ingest"}, db), Catch::Contains("--songs N is required"));
  CHECK_THAT(refusal({"ingest", "--songs", "0"}, db), Catch::Contains("out of range"));
  CHECK_THAT(refusal({"fault", "drop-index"}), Catch::Contains("--url"));
  CHECK_THAT(refusal({"fault", "--url", "http://x"}), Catch::Contains("at least one SPEC"));
  CHECK_THAT(refusal({"fault", "--url", "http://x", "cpu=0"}), Catch::Contains("cpu=0"));
  CHECK_THAT(refusal({"identify"}, db), Catch::Contains("FILE is required"));
  CHECK_THAT(refusal({"identify", "a.wav", "b.wav"}, db), Catch::Contains("\"b.wav\""));
  CHECK_THAT(refusal({"synth", "--out", "x.wav"}), Catch::Contains("--seed N is required"));
  CHECK_THAT(refusal({"synth", "--seed", "1"}), Catch::Contains("--out FILE.wav is required"));
  CHECK_THAT(refusal({"synth", "--seed", "-1", "--out", "x"}), Catch::Contains("out of range"));
  CHECK_THAT(refusal({"synth", "--seed", "1", "--out", "x", "--start", "3"}),
             Catch::Contains("--start needs --clip-seconds"));
  CHECK_THAT(refusal({"synth", "--seed", "1", "--out", "x", "--seconds", "10", "--start", "8",
                      "--clip-seconds", "5"}),
             Catch::Contains("within the song"));
}
