// The --help texts; the defaults here are the ones cli.h's structs carry.
#include <string>

#include "cli.h"
#include "fault_spec.h"

namespace afp::workload {

namespace {

constexpr const char* kOverview = R"(usage: afp_workload COMMAND [flags]

The reference Dejavu-style audio fingerprinting service of afp_exporter: real fingerprints,
real SQL on the Dejavu schema, and every stage reported to the exporter as an app would.

commands:
  init       create the Dejavu schema (idempotent)
  ingest     fingerprint and store synthetic songs
  serve      run the HTTP service, with an identify load and faults if asked
  fault      switch the faults of a running service
  identify   identify an audio file against the database (no server)
  synth      write a synthetic song (or the start of one) as WAV

`afp_workload COMMAND --help` lists a command's flags. The database DSN comes from --dsn, or
from AFP_PG_DSN or the file AFP_PG_DSN_FILE names (which keeps a password out of `ps`).
Exit status: 0 done, 1 failed, 2 bad command line.
)";

constexpr const char* kDsn =
    "  --dsn DSN               PostgreSQL (else AFP_PG_DSN / AFP_PG_DSN_FILE)\n";
constexpr const char* kLogLevel =
    "  --log-level LEVEL       debug, info, warn or error (default info)\n";

constexpr const char* kIngestFlags =
    "  --songs N               synthetic songs to store, seeds first-seed .. first-seed+N-1\n"
    "  --first-seed K          default 1 (seeds stay below 1000000)\n"
    "  --song-seconds S        length of each song, default 30\n"
    "  --jobs J                worker threads, default 2\n";

constexpr const char* kReport =
    "  --report URL            where the timings go: http://HOST:PORT (the exporter's\n"
    "                          /api/v1/observations; bearer token from AFP_INGEST_TOKEN or\n"
    "                          AFP_INGEST_TOKEN_FILE), statsd://HOST:PORT, or none (default)\n";

std::string fault_lines() {
  return "faults (SPEC):\n"
         "  slow-fingerprint[=SECONDS] the fingerprint stage takes at least SECONDS (0.1-60, "
         "default " +
         std::to_string(static_cast<int>(kDefaultFingerprintSeconds)) +
         ")\n"
         "  drop-index                 DROP INDEX ix_fingerprints_hash (clear rebuilds it)\n"
         "  db-stall[=SECONDS]         a session keeps locking fingerprints for SECONDS (default " +
         std::to_string(static_cast<int>(kDefaultStallSeconds)) +
         ") with 0.2 s gaps\n"
         "  cpu[=THREADS]              busy threads (default: one per hardware thread)\n"
         "  errors[=RATIO]             that share (0-1, default 0.5) of /identify answers 500\n"
         "  slow-api[=SECONDS]         each /identify answer waits SECONDS (0.1-60, default 6)\n"
         "                             outside the stages: the API time rises, no stage's does\n"
         "  memory[=RATIO]             take and hold memory until the host's used share\n"
         "                             (1 - MemAvailable/MemTotal) is RATIO (0.1-0.97, default\n"
         "                             0.85), leaving at least 512 MiB available\n"
         "  dead-rows[=RATIO]          autovacuum off on fingerprints and that share (0.01-1,\n"
         "                             default 0.5) of its rows updated in place: dead tuples\n"
         "  stale-stats[=RATIO]        autovacuum off on fingerprints and RATIO (0.01-1, default\n"
         "                             0.2) x its rows added, unmatchable: stale statistics\n"
         "  probe-unreachable          close the --probe-listen listener (needs that flag)\n"
         "  clear, clear=NAME          all faults off, or one\n";
}

}  // namespace

std::string usage(std::string_view command) {
  if (command == "init") {
    return std::string(
               "usage: afp_workload init [--dsn DSN]\n\nCreates the Dejavu schema "
               "(songs, fingerprints, the hash index) if missing.\n\n") +
           kDsn + kLogLevel;
  }
  if (command == "ingest") {
    return std::string(
               "usage: afp_workload ingest --songs N [flags]\n\nFingerprints and stores "
               "synthetic songs; songs stored before are skipped.\n\n") +
           kDsn + kIngestFlags + kReport + kLogLevel;
  }
  if (command == "serve") {
    return std::string(
               "usage: afp_workload serve [flags]\n\nServes POST /identify, GET /healthz, "
               "/stats, /admin/faults and / until SIGINT or SIGTERM.\n\n") +
           kDsn +
           "  --fault-dsn DSN         the faults' sessions (else AFP_FAULT_PG_DSN /\n"
           "                          AFP_FAULT_PG_DSN_FILE, else --dsn): a role of their own\n"
           "                          keeps their statements apart from the app's\n"
           "  --listen HOST:PORT      default 127.0.0.1:8080 (port 0: any free port, logged)\n"
           "  --probe-listen HOST:PORT\n"
           "                          a second listener for an outside prober (the routes but\n"
           "                          /admin/faults); the probe-unreachable fault closes it\n" +
           kReport +
           "  --rate R                identify uploads per second to itself, default 2 (0: none)\n"
           "  --concurrency C         uploads in flight at most, default 4\n"
           "  --unknown-ratio P       share of clips of songs not stored, default 0.2\n"
           "  --clip-seconds S        clip length, default 5\n"
           "  --fault SPEC            a fault on from the start (repeatable)\n"
           "  --songs N, --first-seed K, --song-seconds S, --jobs J\n"
           "                          ingest these songs in the background while serving (the\n"
           "                          identify load also uses --song-seconds, default 30)\n" +
           kLogLevel + "\n" + fault_lines();
  }
  if (command == "fault") {
    return "usage: afp_workload fault --url http://HOST:PORT SPEC...\n\nSwitches faults of a "
           "running service (POST /admin/faults) and prints their new state.\n\n" +
           fault_lines();
  }
  if (command == "identify") {
    return std::string(
               "usage: afp_workload identify [--dsn DSN] FILE\n\nPrints the match of an "
               "audio file as JSON, as POST /identify answers it.\n\n") +
           kDsn + "  --log-level LEVEL       default warn\n";
  }
  if (command == "synth") {
    return "usage: afp_workload synth --seed N [flags] --out FILE.wav\n\nWrites synthetic song N "
           "(the audio `ingest` stores as \"synthetic-N\"), or a clip of it, as\n16-bit WAV.\n\n"
           "  --seconds S             the song's length, as ingested (--song-seconds), default 30\n"
           "  --clip-seconds C        write only C seconds of it (default: the whole song)\n"
           "  --start T               where the clip starts, default 0\n";
  }
  return kOverview;
}

}  // namespace afp::workload
