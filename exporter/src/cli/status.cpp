#include "cli/status.h"

#include <chrono>
#include <stdexcept>

#include "app/catalog.h"
#include "cli/exporter_client.h"
#include "cli/flags.h"
#include "cli/subcommand.h"
#include "core/thresholds.h"

namespace afp::cli {

namespace {

struct Options {
  StatusSourceOptions source;
  bool json = false;
  bool help = false;
  std::chrono::seconds cache_settle{core::kCacheHitSettleSeconds};
};

constexpr std::string_view kUsage =
    "usage: afp_exporter status [--url URL] [--json] [--interval DURATION] [--timeout DURATION]\n"
    "                           [--tls.ca-file FILE | --tls.insecure-skip-verify]\n"
    "                           [--basic-auth.username NAME --basic-auth.password-file FILE]\n"
    "                           [--path.procfs DIR] [--path.sysfs DIR] [--path.rootfs DIR]\n"
    "                           [--pg.cache-settle DURATION]\n"
    "Reads the pipeline p95s and identification errors (pushed between the two scrapes),\n"
    "CPU busy, memory used and disk used (and, when the exporter has a DSN, PostgreSQL\n"
    "up, slowest statement mean time, cache hit ratio and dead-row ratio) from the exporter\n"
    "at --url (default http://127.0.0.1:9793/metrics) twice, --interval apart (default\n"
    "1s), and judges them against the thresholds. Without --url, when nothing listens at the\n"
    "default address, it reads the system from the built-in collectors instead.\n"
    "The cache hit ratio is not judged until PostgreSQL has been up --pg.cache-settle\n"
    "(default 15m, as AfpPostgresCacheHitLow; give rules with shortened timings' value).\n"
    "An https:// exporter's certificate is checked against the system's CAs and must name\n"
    "the URL's host. For an exporter with a --web.config.file:\n";

constexpr std::string_view kExitCodes =
    "Exit status: 0 all OK, 1 a warning or critical reading, 2 error or nothing to judge\n"
    "(an exporter that cannot be read: refused credentials, a certificate that fails the\n"
    "check, an answer other than 200, nothing at an explicit --url).\n";

// Throws std::invalid_argument with the message for err.
Options parse_flags(const std::vector<std::string>& args, const std::string& default_url) {
  Options o;
  auto& src = o.source;
  src.url = default_url;
  FlagReader flag(args, "status");
  while (flag.next()) {
    if (flag.help()) {
      o.help = true;
    } else if (flag.is("json")) {
      flag.no_value();
      o.json = true;
    } else if (flag.is("url")) {
      src.url = flag.value();
      src.url_given = true;
    } else if (read_exporter_client_flag(flag, src.client_flags)) {
      continue;
    } else if (flag.is("path.procfs")) {
      src.settings.procfs = flag.value();
    } else if (flag.is("path.sysfs")) {
      src.settings.sysfs = flag.value();
    } else if (flag.is("path.rootfs")) {
      src.settings.rootfs = flag.value();
    } else if (flag.is("interval")) {
      src.interval = flag.duration();
    } else if (flag.is("timeout")) {
      src.timeout = flag.duration();
    } else if (flag.is("pg.cache-settle")) {
      o.cache_settle = std::chrono::duration_cast<std::chrono::seconds>(flag.duration());
    } else {
      flag.unknown();
    }
  }
  if (!o.help) src.client = exporter_client_options(src.client_flags, src.url);
  return o;
}

// Reads, judges and prints; the exit code of the rows.
int report(const Subcommand& command, const Options& o, std::ostream& out, std::ostream& err) {
  try {
    std::string source;
    auto scrapes = read_source(o.source, source, err);
    if (!scrapes) return kExitError;
    auto rows = evaluate(scrapes->before, scrapes->after, scrapes->elapsed, scrapes->read_at,
                         o.cache_settle);
    if (o.json) {
      print_json(out, source, rows);
    } else {
      print_table(out, source, rows);
    }
    return judged_exit(command, exit_code(rows), err);
  } catch (const std::exception& e) {
    err << command.name << ": " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace

int run_status(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const std::string& default_url) {
  const Subcommand command{
      "status", std::string(kUsage) + std::string(kExporterClientUsage) + std::string(kExitCodes)};
  return run_subcommand(
      command, out, err, [&] { return parse_flags(args, default_url); },
      [&](const Options& o) { return report(command, o, out, err); });
}

}  // namespace afp::cli
