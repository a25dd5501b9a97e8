#include "cli/profile.h"

#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <stdexcept>
#include <string_view>

#include "cli/flags.h"
#include "cli/profile_judge.h"
#include "cli/profile_plan.h"
#include "cli/profile_render.h"
#include "cli/profile_report.h"
#include "cli/status.h"
#include "cli/subcommand.h"
#include "collectors/settings.h"
#include "log/logger.h"
#include "pg/advisor.h"
#include "pg/connection.h"
#include "pg/dsn.h"
#include "pipeline/probe.h"

namespace afp::cli {

namespace {

namespace p = profile;
using std::chrono::milliseconds;

// A measurement that cannot be made (unreachable app, no DSN, ...): exit 2 with its message.
class ProfileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr std::string_view kUsage =
    "usage: afp_exporter profile [--mode audio|api|database|system|full] [--iterations N]\n"
    "                            [--url URL --audio-file FILE] [--output FILE] [flags]\n"
    "\n"
    "Measures the service N times and judges each p95 against the requirements:\n"
    "  api       uploads --audio-file to --url (as the probe does): total time (5 s / 10 s) and\n"
    "            the app's Server-Timing stages: fingerprint (3 s / 5 s), db (1 s / 3 s), others\n"
    "  audio     the same uploads, the fingerprint stage alone (the app must send one)\n"
    "  database  Dejavu's look-up of --hashes random hashes (1 s / 3 s), then EXPLAIN ANALYZE of\n"
    "            one: a sequential scan of the fingerprint table is flagged\n"
    "  system    CPU busy over --interval, memory used, disk used per filesystem\n"
    "  full      (default) api when --url is given, database when a DSN is set, system always\n"
    "\n"
    "Flags:\n"
    "  --mode MODE               what to measure (default full)\n"
    "  --iterations N            uploads or look-ups (default 10)\n"
    "  --output FILE             write the report as JSON to FILE; stdout gets one line\n"
    "  --url URL                 the app's identify endpoint (http:// or https://)\n"
    "  --audio-file FILE         the reference audio to upload\n"
    "  --form-field NAME         its multipart/form-data field (default file)\n"
    "  --raw-body                send the file as the request body instead of a form\n"
    "  --content-type TYPE       of the file (default audio/wav)\n"
    "  --timeout DUR             per upload, and the database statement_timeout (default 30s)\n"
    "  --pg.dsn-file FILE        the DSN, when neither AFP_PG_DSN nor AFP_PG_DSN_FILE is set\n"
    "  --fingerprint-table NAME  the Dejavu fingerprint table (default fingerprints)\n"
    "  --hash-column NAME        its hash column (default hash)\n"
    "  --hashes N                hashes per look-up (default 1000, Dejavu's batch size)\n"
    "  --interval DUR            between the two CPU readings (default 1s)\n"
    "  --path.procfs DIR, --path.sysfs DIR, --path.rootfs DIR   as for the server\n"
    "\n"
    "Percentiles are nearest-rank: p95 is the timing at rank ceil(0.95 x N) in ascending order\n"
    "(of 20 runs the 19th fastest, below 20 the slowest). Failed uploads or look-ups are\n"
    "reported and fail the run.\n"
    "Exit status: 0 all passed, 1 a requirement warned or failed or an iteration failed,\n"
    "2 error (flags, unreachable app, unreadable audio file, no DSN, connection) or nothing\n"
    "judged.\n";

enum class Mode { Audio, Api, Database, System, Full };

struct Options {
  Mode mode = Mode::Full;
  std::string mode_name = "full";
  std::size_t iterations = 10;
  std::string url, audio_file, form_field = "file", content_type = "audio/wav";
  bool raw_body = false;
  milliseconds timeout{30000};
  milliseconds interval{1000};
  collectors::CollectorSettings settings;
  std::string dsn_file;
  pg::AdvisorSettings db;
  std::size_t hashes = p::kDefaultLookupHashes;
  std::string output;
  bool help = false;

  bool uploads() const {
    return mode == Mode::Api || mode == Mode::Audio || (mode == Mode::Full && !url.empty());
  }
  bool database() const { return mode == Mode::Database || mode == Mode::Full; }
  bool system() const { return mode == Mode::System || mode == Mode::Full; }
};

// ---------------------------------------------------------------------------------------
// Flags.

Mode parse_mode(const std::string& text) {
  if (text == "audio") return Mode::Audio;
  if (text == "api") return Mode::Api;
  if (text == "database") return Mode::Database;
  if (text == "system") return Mode::System;
  if (text == "full") return Mode::Full;
  throw std::invalid_argument("flag --mode: \"" + text +
                              "\" is not audio, api, database, system or full");
}

std::size_t count_value(FlagReader& flag, std::size_t max) {
  auto text = flag.value();
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || end != text.data() + text.size() || n == 0 || n > max) {
    throw std::invalid_argument("flag --" + flag.name() + ": \"" + text +
                                "\" is not a whole number from 1 to " + std::to_string(max));
  }
  return n;
}

// Throws std::invalid_argument with the message for err.
Options parse_flags(const std::vector<std::string>& args) {
  Options o;
  FlagReader flag(args, "profile");
  while (flag.next()) {
    if (flag.help()) {
      o.help = true;
    } else if (flag.is("mode")) {
      o.mode_name = flag.value();
      o.mode = parse_mode(o.mode_name);
    } else if (flag.is("iterations")) {
      o.iterations = count_value(flag, 100000);
    } else if (flag.is("url")) {
      o.url = flag.value();
    } else if (flag.is("audio-file")) {
      o.audio_file = flag.value();
    } else if (flag.is("form-field")) {
      o.form_field = flag.value();
    } else if (flag.is("raw-body")) {
      flag.no_value();
      o.raw_body = true;
    } else if (flag.is("content-type")) {
      o.content_type = flag.value();
    } else if (flag.is("timeout")) {
      o.timeout = flag.duration();
    } else if (flag.is("interval")) {
      o.interval = flag.duration();
    } else if (flag.is("output")) {
      o.output = flag.value();
    } else if (flag.is("pg.dsn-file")) {
      o.dsn_file = flag.value();
    } else if (flag.is("fingerprint-table")) {
      o.db.fingerprint_table = flag.value();
    } else if (flag.is("hash-column")) {
      o.db.hash_column = flag.value();
    } else if (flag.is("hashes")) {
      o.hashes = count_value(flag, 100000);
    } else if (flag.is("path.procfs")) {
      o.settings.procfs = flag.value();
    } else if (flag.is("path.sysfs")) {
      o.settings.sysfs = flag.value();
    } else if (flag.is("path.rootfs")) {
      o.settings.rootfs = flag.value();
    } else {
      flag.unknown();
    }
  }
  return o;
}

// What the mode needs that flags must give. Throws std::invalid_argument.
void check_flags(const Options& o) {
  bool needs_url = o.mode == Mode::Api || o.mode == Mode::Audio;
  if (needs_url && o.url.empty()) {
    throw std::invalid_argument("--mode " + o.mode_name +
                                " needs --url (the app's identify endpoint)");
  }
  if (o.uploads() && o.audio_file.empty()) {
    throw std::invalid_argument("--url needs --audio-file (the reference audio to upload)");
  }
  if (!o.uploads() && !o.audio_file.empty() && o.mode == Mode::Full) {
    throw std::invalid_argument("--audio-file needs --url (the app's identify endpoint)");
  }
}

// Refuses an --output the report could not be written to before measuring for minutes.
void check_writable(const std::string& path) {
  auto dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  bool ok = std::filesystem::exists(path) ? ::access(path.c_str(), W_OK) == 0
                                          : ::access(dir.c_str(), W_OK) == 0;
  if (!ok) {
    throw ProfileError("cannot write the report to " + path + ": " + std::strerror(errno));
  }
}

// ---------------------------------------------------------------------------------------
// Measuring.

// libpq messages span lines; an error is one line.
std::string one_line(std::string text) {
  for (auto& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  auto end = text.find_last_not_of(' ');
  text.erase(end == std::string::npos ? 0 : end + 1);
  std::string out;
  for (char c : text) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

std::string duration_text(milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::string size_text(const std::string& path) {
  std::error_code ec;
  auto bytes = static_cast<double>(std::filesystem::file_size(path, ec));
  if (ec) return "?";
  char buf[32];
  if (bytes >= 1 << 20) {
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1 << 20));
  } else {
    std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024);
  }
  return buf;
}

// A first upload that got no answer without timing out: connection refused, no such host,
// a TLS failure. Measuring it N times would only repeat the error.
bool unreachable(const pipeline::ProbeResult& r, milliseconds timeout) {
  double limit = std::chrono::duration<double>(timeout).count() * 0.9;
  return !r.success && r.http_status == 0 && r.duration_seconds < limit;
}

std::string no_fingerprint_stage(const Options& o, const std::vector<pipeline::ProbeResult>& runs) {
  auto names = p::stage_names(runs);
  std::string seen;
  for (const auto& n : names)
    seen += (seen.empty() ? "" : ", ") + n;
  return "the app at " + o.url + " sends no \"" + std::string(p::kFingerprintStage) +
         "\" Server-Timing stage (" + (seen.empty() ? "no stages" : "stages: " + seen) +
         "); --mode audio needs one, e.g. Server-Timing: fingerprint;dur=1840";
}

p::Section measure_uploads(const Options& o, p::UploadView view) {
  pipeline::ProbeOptions po;
  po.url = o.url;
  po.audio_file = o.audio_file;
  po.timeout = o.timeout;
  po.form_field = o.raw_body ? "" : o.form_field;
  po.content_type = o.content_type;
  // The report says what failed; the probe's own log lines would repeat it on stderr.
  log::Logger quiet(log::Level::error, log::Format::logfmt, [](std::string_view) {});
  std::optional<pipeline::Probe> probe;
  try {
    probe.emplace(po, quiet);
  } catch (const std::exception& e) {  // ProbeError, CurlError: bad URL, unreadable file
    throw ProfileError(e.what());
  }
  std::vector<pipeline::ProbeResult> runs;
  for (std::size_t i = 0; i < o.iterations; ++i) {
    runs.push_back(probe->run_once());
    if (i == 0 && unreachable(runs[0], o.timeout)) {
      throw ProfileError("cannot reach " + o.url + ": " + runs[0].error);
    }
  }
  bool any_success = false;
  for (const auto& r : runs)
    any_success = any_success || r.success;
  if (view == p::UploadView::Audio && any_success && !p::has_stage(runs, p::kFingerprintStage)) {
    throw ProfileError(no_fingerprint_stage(o, runs));
  }
  std::string what = std::to_string(o.iterations) + " uploads of " +
                     std::filesystem::path(o.audio_file).filename().string() + " (" +
                     size_text(o.audio_file) + ")";
  return p::judge_uploads(runs, view, o.url, what);
}

// One database session: read-only, every statement under statement_timeout.
class DbSession {
 public:
  DbSession(const Options& o, const pg::Dsn& dsn)
      : o_(o),
        dsn_(dsn),
        conn_(dsn.conninfo, connection_options(o), quiet_),
        target_(pg::describe(dsn.conninfo)) {}

  const std::string& target() const { return target_; }

  std::string clean(const std::exception& e) const {
    return one_line(pg::scrub(e.what(), dsn_.conninfo));
  }

  // The server's statement_timeout fires first and says so; this is the backstop.
  pg::Clock::time_point deadline() const {
    return pg::Clock::now() + o_.timeout + std::chrono::seconds(10);
  }

  pg::Result query(const std::string& sql) { return conn_.query(sql, deadline()); }

  void connect() {
    try {
      // Look-ups and EXPLAIN ANALYZE of a SELECT change nothing, whatever the role may do.
      query("SET default_transaction_read_only = on");
    } catch (const pg::PgError& e) {
      throw ProfileError("cannot connect to " + target_ + " (DSN from " + dsn_.source +
                         "): " + clean(e));
    }
  }

  // A failed statement: kept as an iteration's error while the connection stands.
  std::string failure(const pg::PgError& e) const {
    if (!conn_.connected())
      throw ProfileError("lost the connection to " + target_ + ": " + clean(e));
    return clean(e);
  }

  pg::Connection& connection() { return conn_; }

 private:
  static pg::ConnectionOptions connection_options(const Options& o) {
    pg::ConnectionOptions c;
    c.connect_timeout = std::chrono::seconds(10);
    c.statement_timeout = o.timeout;
    return c;
  }

  const Options& o_;
  const pg::Dsn& dsn_;
  // Connection failures become the one error line, not log lines.
  log::Logger quiet_{log::Level::error, log::Format::logfmt, [](std::string_view) {}};
  pg::Connection conn_;
  std::string target_;
};

void time_lookups(DbSession& db, const Options& o, const std::function<std::string()>& next_sql,
                  p::DatabaseFacts& f) {
  for (std::size_t i = 0; i < o.iterations; ++i) {
    std::string sql = next_sql();  // built outside the timed part
    auto begin = std::chrono::steady_clock::now();
    try {
      db.query(sql);
      f.seconds.push_back(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count());
    } catch (const pg::PgError& e) {
      f.errors.push_back(db.failure(e));
    }
    ++f.iterations;
  }
}

// EXPLAIN ANALYZE of one look-up; when that fails (a look-up slower than the timeout), the
// plan without run-time figures, which still shows a sequential scan.
void explain(DbSession& db, const pg::DatabaseSnapshot& snap, const std::string& sql,
             p::DatabaseFacts& f) {
  for (const char* options : {"ANALYZE, BUFFERS, VERBOSE, FORMAT JSON", "VERBOSE, FORMAT JSON"}) {
    try {
      auto r = db.query("EXPLAIN (" + std::string(options) + ") " + sql);
      f.plan = p::read_plan(r.value(0, 0), snap.fp_schema, snap.fp_table);
      return;
    } catch (const pg::PgError& e) {
      f.plan_error += (f.plan_error.empty() ? "" : "; ") + db.failure(e);
    }
  }
}

p::Section measure_database(const Options& o, const pg::Dsn& dsn) {
  DbSession db(o, dsn);
  db.connect();
  try {
    auto snap = pg::load_snapshot(db.connection(), o.db, db.deadline());
    std::mt19937_64 rng{std::random_device{}()};
    auto next_sql = [&] {
      return p::lookup_sql(snap.fp_sql_name, snap.hash_column_sql, p::random_hashes(rng, o.hashes));
    };
    try {
      // Plain EXPLAIN checks the privileges and columns at no cost: a role that may not read
      // the table is an error, not N failed look-ups.
      db.query("EXPLAIN " + next_sql());
    } catch (const pg::PgError& e) {
      throw ProfileError("cannot run the look-up on " + snap.fp_sql_name + ": " + db.clean(e));
    }
    p::DatabaseFacts f;
    f.target = db.target();
    f.table = snap.fp_sql_name;
    f.analyze_sql = "ANALYZE " + snap.fp_sql_name + ";";
    f.hashes = o.hashes;
    time_lookups(db, o, next_sql, f);
    explain(db, snap, next_sql(), f);
    f.index_fix = p::missing_index_fix(pg::evaluate(snap, o.db));
    return p::judge_database(f);
  } catch (const ProfileError&) {
    throw;
  } catch (const std::exception& e) {  // AdvisorError (no such table or column), PgError
    throw ProfileError(db.target() + ": " + db.clean(e));
  }
}

p::Section measure_system(const Options& o, std::ostream& err) {
  auto [before, after] = collect_locally(o.settings, o.interval, "profile", err);
  return p::judge_system(
      evaluate(before, after), "local",
      "CPU busy over " + duration_text(o.interval) + ", memory used, disk used per filesystem");
}

std::optional<pg::Dsn> load_dsn(const Options& o) {
  try {
    return pg::load_dsn_from_environment(std::getenv, o.dsn_file);
  } catch (const pg::DsnError& e) {
    throw ProfileError(e.what());
  }
}

p::Report measure(const Options& o, std::ostream& err) {
  // Before anything slow: a bad DSN file should not wait for N uploads.
  std::optional<pg::Dsn> dsn = o.database() ? load_dsn(o) : std::nullopt;
  p::Report report{o.mode_name, o.uploads() || dsn ? o.iterations : 0, {}, {}};
  if (o.mode == Mode::Database && !dsn) {
    throw ProfileError(
        "no PostgreSQL DSN: set AFP_PG_DSN or AFP_PG_DSN_FILE, or pass --pg.dsn-file FILE");
  }
  if (o.uploads()) {
    auto view = o.mode == Mode::Audio ? p::UploadView::Audio : p::UploadView::Api;
    report.sections.push_back(measure_uploads(o, view));
  } else if (o.mode == Mode::Full) {
    report.skipped.push_back("api and audio: no --url given");
  }
  if (dsn) {
    report.sections.push_back(measure_database(o, *dsn));
  } else if (o.mode == Mode::Full) {
    report.skipped.push_back("database: no DSN (AFP_PG_DSN, AFP_PG_DSN_FILE or --pg.dsn-file)");
  }
  if (o.system()) report.sections.push_back(measure_system(o, err));
  return report;
}

void write_json(const std::string& path, const p::Report& report) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  if (file) p::print_json(file, report);
  file.close();
  if (!file) throw ProfileError("cannot write the report to " + path);
}

// Measures, judges and prints or writes the report; its exit code.
int measure_and_report(const Subcommand& command, const Options& o, std::ostream& out,
                       std::ostream& err) {
  try {
    if (!o.output.empty()) check_writable(o.output);
    auto report = measure(o, err);
    if (o.output.empty()) {
      p::print_text(out, report);
    } else {
      write_json(o.output, report);
      out << "profile: " << p::summary_line(report) << "; JSON report written to " << o.output
          << "\n";
    }
    return judged_exit(command, p::exit_code(report), err);
  } catch (const std::exception& e) {
    err << command.name << ": " << one_line(e.what()) << "\n";
    return kExitError;
  }
}

}  // namespace

int run_profile(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  const Subcommand command{"profile", std::string(kUsage)};
  auto parse = [&] {
    Options o = parse_flags(args);
    if (!o.help) check_flags(o);
    return o;
  };
  return run_subcommand(command, out, err, parse,
                        [&](const Options& o) { return measure_and_report(command, o, out, err); });
}

}  // namespace afp::cli
