#include "cli/status.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>
#include <utility>

#include "app/catalog.h"
#include "cli/exporter_client.h"
#include "cli/flags.h"
#include "collectors/settings.h"
#include "config/options.h"
#include "http/client.h"
#include "metrics/histogram_quantile.h"
#include "metrics/text_writer.h"
#include "pg/advisor.h"

namespace afp::cli {

using metrics::Sample;

namespace {

// ---------------------------------------------------------------------------------------
// Checks: pure functions from two scrapes to rows.

struct Scrapes {
  const std::vector<Sample>& before;
  const std::vector<Sample>& after;
  std::chrono::duration<double> elapsed;
};

// 5123456 -> "5.12M": a table's size at a glance.
std::string format_count(double n) {
  std::array<char, 32> buf{};
  if (n >= 1e9) {
    std::snprintf(buf.data(), buf.size(), "%.2fG", n / 1e9);
  } else if (n >= 1e6) {
    std::snprintf(buf.data(), buf.size(), "%.2fM", n / 1e6);
  } else if (n >= 1e4) {
    std::snprintf(buf.data(), buf.size(), "%.1fk", n / 1e3);
  } else {
    std::snprintf(buf.data(), buf.size(), "%.0f", n);
  }
  return buf.data();
}

CheckState state_of(core::Level level) {
  switch (level) {
    case core::Level::Critical:
      return CheckState::Crit;
    case core::Level::Warning:
      return CheckState::Warn;
    case core::Level::Ok:
      break;
  }
  return CheckState::Ok;
}

CheckRow judged(const core::Threshold& t, std::string target, double value) {
  return CheckRow{t, std::move(target), value, judge(t, value), {}, std::nullopt};
}

CheckRow unknown(const core::Threshold& t, std::string target, std::string note,
                 std::optional<double> value = std::nullopt) {
  return CheckRow{t, std::move(target), value, CheckState::Unknown, std::move(note), std::nullopt};
}

// CPU busy as node-mixin defines it (instance:node_cpu_utilisation:rate5m): time in idle,
// iowait and steal is not busy, every other mode is. node-mixin divides by wall-clock
// time; we divide by the time of all modes, summed over CPUs:
//   busy = 1 - Δ(idle + iowait + steal) / Δ(all modes).
void check_cpu(const Scrapes& s, std::vector<CheckRow>& rows) {
  const auto& t = core::kCpuBusy;
  constexpr std::string_view kName = "node_cpu_seconds_total";
  std::map<std::pair<std::string_view, std::string_view>, double> before;
  for (const auto* p : metrics::find_samples(s.before, kName)) {
    auto cpu = metrics::label_value(*p, "cpu");
    auto mode = metrics::label_value(*p, "mode");
    if (cpu && mode) before[{*cpu, *mode}] = p->value;
  }
  double all = 0, idle = 0;
  bool matched = false;
  for (const auto* p : metrics::find_samples(s.after, kName)) {
    auto cpu = metrics::label_value(*p, "cpu");
    auto mode = metrics::label_value(*p, "mode");
    if (!cpu || !mode) continue;
    auto it = before.find({*cpu, *mode});
    if (it == before.end()) continue;
    double delta = p->value - it->second;
    if (delta < 0) {
      rows.push_back(unknown(t, "", "CPU counters went back between the scrapes"));
      return;
    }
    matched = true;
    all += delta;
    if (*mode == "idle" || *mode == "iowait" || *mode == "steal") idle += delta;
  }
  if (!matched) {
    rows.push_back(unknown(t, "", "no node_cpu_seconds_total in both scrapes"));
  } else if (!(all > 0)) {
    rows.push_back(unknown(t, "", "no CPU time passed between the scrapes"));
  } else {
    rows.push_back(judged(t, "", (all - idle) / all));
  }
}

// Memory used = 1 - MemAvailable / MemTotal, computed as (total - available) / total so
// that integral byte counts land on a threshold exactly.
void check_memory(const Scrapes& s, std::vector<CheckRow>& rows) {
  const auto& t = core::kMemoryUsed;
  const auto* total = metrics::find_sample(s.after, "node_memory_MemTotal_bytes");
  const auto* avail = metrics::find_sample(s.after, "node_memory_MemAvailable_bytes");
  if (total == nullptr || !(total->value > 0)) {
    rows.push_back(unknown(t, "", "no node_memory_MemTotal_bytes"));
  } else if (avail == nullptr) {
    rows.push_back(unknown(t, "", "no node_memory_MemAvailable_bytes"));
  } else {
    rows.push_back(judged(t, "", (total->value - avail->value) / total->value));
  }
}

// Disk used per filesystem = 1 - avail / size (the space an unprivileged user can still
// write), as node-mixin's filesystem alerts. Filesystems with a device error or no size
// are left out; read-only ones are shown but not judged.
void check_filesystems(const Scrapes& s, std::vector<CheckRow>& rows) {
  const auto& t = core::kDiskUsed;
  auto first = rows.size();
  for (const auto* size : metrics::find_samples(s.after, "node_filesystem_size_bytes")) {
    auto device = metrics::label_value(*size, "device").value_or("");
    auto mountpoint = metrics::label_value(*size, "mountpoint").value_or("");
    auto fstype = metrics::label_value(*size, "fstype").value_or("");
    metrics::LabelMatch same{{"device", device}, {"mountpoint", mountpoint}, {"fstype", fstype}};
    const auto* error = metrics::find_sample(s.after, "node_filesystem_device_error", same);
    if ((error != nullptr && error->value != 0) || !(size->value > 0)) continue;
    const auto* avail = metrics::find_sample(s.after, "node_filesystem_avail_bytes", same);
    const auto* readonly = metrics::find_sample(s.after, "node_filesystem_readonly", same);
    std::string target(mountpoint);
    if (avail == nullptr) {
      rows.push_back(unknown(t, target, "no node_filesystem_avail_bytes"));
      continue;
    }
    double used = (size->value - avail->value) / size->value;
    if (readonly != nullptr && readonly->value != 0) {
      rows.push_back(unknown(t, target, "read-only, not judged", used));
    } else {
      rows.push_back(judged(t, target, used));
    }
  }
  if (rows.size() == first) rows.push_back(unknown(t, "", "no filesystem reported"));
}

// ---------------------------------------------------------------------------------------
// PostgreSQL: judged when the exporter reports pg_up 1, i.e. has a DSN and reaches the
// server; otherwise every database check is one n/a row saying why. Statement and table
// counters are read cumulatively (since the statistics reset): two scrapes a second apart
// see too few calls to judge a rate. The cache hit ratio is the exception, below.

// Why the database checks cannot judge, or nullopt when PostgreSQL is up.
std::optional<std::string> postgres_unavailable(const Scrapes& s) {
  const auto* up = metrics::find_sample(s.after, "pg_up");
  if (up == nullptr) return "no pg_up in the readings: no PostgreSQL DSN";
  if (up->value != 1) return "PostgreSQL is down";
  return std::nullopt;
}

void check_pg_up(const Scrapes& s, std::vector<CheckRow>& rows) {
  if (const auto* up = metrics::find_sample(s.after, "pg_up")) {
    rows.push_back(judged(core::kPgUp, "", up->value));
  } else {
    rows.push_back(unknown(core::kPgUp, "", *postgres_unavailable(s)));
  }
}

// One-off statements (CREATE INDEX, a manual VACUUM) are slow by nature; the slowest
// statement worth judging has been called a few times.
constexpr double kStatementMinCalls = 5;

void check_statements(const Scrapes& s, std::vector<CheckRow>& rows) {
  const auto& t = core::kStatementMeanTime;
  if (auto why = postgres_unavailable(s)) {
    rows.push_back(unknown(t, "", *why));
    return;
  }
  auto calls = metrics::find_samples(s.after, "pg_stat_statements_calls_total");
  if (calls.empty()) {
    rows.push_back(unknown(t, "", "no pg_stat_statements series (extension or collector off)"));
    return;
  }
  std::optional<double> worst;
  std::string target;
  for (const auto* c : calls) {
    if (c->value < kStatementMinCalls) continue;
    auto queryid = metrics::label_value(*c, "queryid").value_or("");
    const auto* seconds =
        metrics::find_sample(s.after, "pg_stat_statements_seconds_total",
                             {{"datname", metrics::label_value(*c, "datname").value_or("")},
                              {"user", metrics::label_value(*c, "user").value_or("")},
                              {"queryid", queryid}});
    if (seconds == nullptr) continue;
    double mean = seconds->value / c->value;
    if (!worst || mean > *worst) {
      worst = mean;
      target = "queryid " + std::string(queryid);
    }
  }
  if (!worst) {
    rows.push_back(unknown(t, "", "no statement called 5 times yet"));
  } else {
    rows.push_back(judged(t, target, *worst));
  }
}

// AfpPostgresCacheHitLow's guards. The alert judges a 5-minute rate; status has two scrapes
// `elapsed` apart, so the block rate and the ratio both come from their difference. A
// ratio since the statistics reset would still carry the cold reads of a start long
// past, and of databases nobody uses. The alert also waits 15 minutes after PostgreSQL
// came up; the exporter publishes no start time, so status sees only a restart between
// its two scrapes (pg_up 0 in the first, or counters that went back).

struct Blocks {
  double hit = 0, read = 0;
};

// postgres_exporter's names: counters without _total, labelled {datid,datname}.
std::optional<Blocks> blocks_of(const std::vector<Sample>& scrape, std::string_view datid,
                                std::string_view datname) {
  metrics::LabelMatch same{{"datid", datid}, {"datname", datname}};
  const auto* hit = metrics::find_sample(scrape, "pg_stat_database_blks_hit", same);
  const auto* read = metrics::find_sample(scrape, "pg_stat_database_blks_read", same);
  if (hit == nullptr || read == nullptr) return std::nullopt;
  return Blocks{hit->value, read->value};
}

bool came_up_between(const Scrapes& s) {
  const auto* up = metrics::find_sample(s.before, "pg_up");
  return up != nullptr && up->value != 1;
}

std::string idle_note(double per_second, double seconds) {
  std::array<char, 96> buf{};
  std::snprintf(buf.data(), buf.size(), "idle: %.1f blocks/s over %.3g s, under %g/s", per_second,
                seconds, core::kCacheHitMinBlocksPerSecond);
  return buf.data();
}

CheckRow cache_hit_row(const Scrapes& s, std::string_view datid, std::string_view datname,
                       const Blocks& now) {
  const auto& t = core::kCacheHitRatio;
  std::string target(datname);
  if (came_up_between(s)) {
    return unknown(t, target, "PostgreSQL came up between the scrapes: its cache is still warming");
  }
  auto then = blocks_of(s.before, datid, datname);
  if (!then) return unknown(t, target, "not in both scrapes");
  double seconds = s.elapsed.count();
  if (!(seconds > 0)) return unknown(t, target, "no time passed between the scrapes");
  double hits = now.hit - then->hit, reads = now.read - then->read;
  if (hits < 0 || reads < 0) {
    return unknown(t, target,
                   "counters went back between the scrapes (PostgreSQL restarted or its "
                   "statistics were reset): its cache may still be warming");
  }
  double per_second = (hits + reads) / seconds;
  if (per_second < core::kCacheHitMinBlocksPerSecond) {
    return CheckRow{
        t, target, std::nullopt, CheckState::Ok, idle_note(per_second, seconds), std::nullopt};
  }
  return judged(t, target, hits / (hits + reads));
}

void check_cache_hit(const Scrapes& s, std::vector<CheckRow>& rows) {
  const auto& t = core::kCacheHitRatio;
  if (auto why = postgres_unavailable(s)) {
    rows.push_back(unknown(t, "", *why));
    return;
  }
  auto first = rows.size();
  for (const auto* hit : metrics::find_samples(s.after, "pg_stat_database_blks_hit")) {
    auto datname = metrics::label_value(*hit, "datname").value_or("");
    auto datid = metrics::label_value(*hit, "datid").value_or("");
    if (std::find(core::kUnjudgedDatabases.begin(), core::kUnjudgedDatabases.end(), datname) !=
        core::kUnjudgedDatabases.end()) {
      continue;
    }
    if (auto now = blocks_of(s.after, datid, datname)) {
      rows.push_back(cache_hit_row(s, datid, datname, *now));
    }
  }
  if (rows.size() == first) rows.push_back(unknown(t, "", "no pg_stat_database series"));
}

// The fingerprint table always gets a row (with its size, the number that explains most
// look-up times); other tables only once they have enough dead rows to matter.
void check_dead_rows(const Scrapes& s, std::vector<CheckRow>& rows) {
  const auto& t = core::kDeadRowRatio;
  if (auto why = postgres_unavailable(s)) {
    rows.push_back(unknown(t, "", *why));
    return;
  }
  auto first = rows.size();
  for (const auto* dead : metrics::find_samples(s.after, "pg_stat_user_tables_n_dead_tup")) {
    auto relname = metrics::label_value(*dead, "relname").value_or("");
    auto schema = metrics::label_value(*dead, "schemaname").value_or("");
    auto datname = metrics::label_value(*dead, "datname").value_or("");
    const auto* live =
        metrics::find_sample(s.after, "pg_stat_user_tables_n_live_tup",
                             {{"datname", datname}, {"schemaname", schema}, {"relname", relname}});
    if (live == nullptr) continue;
    bool fingerprints = relname == pg::AdvisorSettings{}.fingerprint_table;
    if (!fingerprints && dead->value < static_cast<double>(core::kDeadRowMinRows)) continue;
    std::string target = std::string(schema) + "." + std::string(relname);
    if (fingerprints) target += " (" + format_count(live->value) + " live rows)";
    double all = live->value + dead->value;
    if (all > 0) {
      rows.push_back(judged(t, target, dead->value / all));
    } else {
      rows.push_back(unknown(t, target, "empty table"));
    }
  }
  if (rows.size() == first) {
    rows.push_back(unknown(
        t, "", "no table " + pg::AdvisorSettings{}.fingerprint_table + " in pg_stat_user_tables"));
  }
}

// ---------------------------------------------------------------------------------------
// Pipeline: what the app pushed between the two scrapes, over every series of a histogram
// as the alerts sum them: now, not a mean since the exporter started that still carries
// an incident long over and dilutes the one going on. A p95 is shown as the bucket it
// falls in (see quantile_range.h). n/a rows when the exporter publishes no pipeline
// metrics.

// Every pipeline family is written on each scrape, but a labelled histogram (API requests
// by endpoint) has no series until its first observation: whether the pipeline is published
// is read from all of its families, not from each histogram's own series.
constexpr std::array<std::string_view, 4> kPipelineFamilies{
    "afp_fingerprint_generation_seconds_count", "afp_api_request_duration_seconds_count",
    "afp_db_query_duration_seconds_count", "afp_identifications_total"};

bool pipeline_published(const Scrapes& s) {
  return std::any_of(kPipelineFamilies.begin(), kPipelineFamilies.end(),
                     [&](auto name) { return metrics::find_sample(s.after, name) != nullptr; });
}

std::string format_number(core::Unit unit, double value, bool is_threshold);

// Judged from the bucket's bounds (range_level): OK only when the whole bucket is within the
// warning level, CRIT only when the whole bucket is over the critical one; a bucket across a
// level is a WARN that says which level it may reach, never a pass. Where exactly 95 % of the
// observations are at or under a threshold that is a bucket bound, the bucket is within it
// but Prometheus interpolates to the bound itself and the alert (>=) fires; the p95 may be
// the bound (an app timing whole milliseconds sends 3000 ms), so status warns there too and
// is never quieter than the alert.
CheckRow range_row(const core::Threshold& t, const QuantileRange& range, double point) {
  auto [level, may_reach] = range_level(t, range);
  if (!may_reach && core::level_of(t, point) > level) may_reach = core::level_of(t, point);
  CheckRow row{t, "", point, state_of(level), {}, range};
  if (may_reach) {
    row.state = CheckState::Warn;
    double at = *may_reach == core::Level::Critical ? t.critical : t.warning;
    row.note = "may reach " + format_number(t.unit, at, true);
  }
  return row;
}

// Fewer observations than the alerts want in their 5-minute window (the mixin's
// latencyMinObservations): the row is judged, and says how few it had.
constexpr double kFewObservations = 20;

// What the histogram observed between the two scrapes, as the alerts' rate() sees it: the
// later cumulative buckets minus the earlier ones (a series new since then counts from
// zero). nullopt when a count went back: the exporter restarted in between.
std::optional<std::vector<metrics::Bucket>> window_buckets(const Scrapes& s,
                                                           std::string_view histogram) {
  auto buckets = metrics::sum_buckets(s.after, histogram);
  auto earlier = metrics::sum_buckets(s.before, histogram);
  for (auto& b : buckets) {
    auto same = std::find_if(earlier.begin(), earlier.end(),
                             [&](const auto& e) { return e.upper_bound == b.upper_bound; });
    if (same != earlier.end()) b.count -= same->count;
    if (b.count < 0) return std::nullopt;
  }
  return buckets;
}

std::string window_note(const Scrapes& s, std::string_view what) {
  if (!(s.elapsed.count() > 0)) return std::string(what) + " between the scrapes";
  std::array<char, 128> buf{};
  std::snprintf(buf.data(), buf.size(), "%.*s in the %.3g s between the scrapes",
                static_cast<int>(what.size()), what.data(), s.elapsed.count());
  return buf.data();
}

void check_p95(const Scrapes& s, std::vector<CheckRow>& rows, const core::Threshold& t,
               std::string_view histogram) {
  auto buckets = window_buckets(s, histogram);
  if (!buckets) {
    rows.push_back(unknown(t, "", "counts went back between the scrapes: the exporter restarted"));
    return;
  }
  double observations = 0;
  for (const auto& b : *buckets)
    observations = std::max(observations, b.count);
  auto range = quantile_range(0.95, *buckets);
  auto point = metrics::bucket_quantile(0.95, std::move(*buckets));
  if (!range || !point || !(observations > 0)) {
    rows.push_back(
        unknown(t, "", window_note(s, "no observations") + " (a longer --interval sees more)"));
    return;
  }
  auto row = range_row(t, *range, *point);
  if (observations < kFewObservations) {
    auto count = static_cast<long>(observations);
    auto few = window_note(
        s, "only " + std::to_string(count) + (count == 1 ? " observation" : " observations"));
    row.note = row.note.empty() ? few : row.note + "; " + few;
  }
  rows.push_back(std::move(row));
}

constexpr std::string_view kNoPipeline = "no pipeline metrics in the readings";

void check_pipeline_p95s(const Scrapes& s, std::vector<CheckRow>& rows) {
  if (!pipeline_published(s)) {
    for (const auto* t :
         {&core::kFingerprintGenerationP95, &core::kApiProcessingP95, &core::kDbQueryP95}) {
      rows.push_back(unknown(*t, "", std::string(kNoPipeline)));
    }
    return;
  }
  check_p95(s, rows, core::kFingerprintGenerationP95, "afp_fingerprint_generation_seconds");
  check_p95(s, rows, core::kApiProcessingP95, "afp_api_request_duration_seconds");
  check_p95(s, rows, core::kDbQueryP95, "afp_db_query_duration_seconds");
}

// Errors out of all identifications; a no-match is an answer, not a failure.
void check_identifications(const Scrapes& s, std::vector<CheckRow>& rows) {
  const auto& t = core::kIdentificationErrorRatio;
  auto results = metrics::find_samples(s.after, "afp_identifications_total");
  if (results.empty()) {
    rows.push_back(unknown(
        t, "",
        pipeline_published(s) ? window_note(s, "no identifications") : std::string(kNoPipeline)));
    return;
  }
  // Between the two scrapes, as the alert's rate() counts them.
  double all = 0, errors = 0;
  for (const auto* r : results) {
    auto result = metrics::label_value(*r, "result").value_or("");
    const auto* earlier =
        metrics::find_sample(s.before, "afp_identifications_total", {{"result", result}});
    double delta = r->value - (earlier != nullptr ? earlier->value : 0);
    if (delta < 0) {
      rows.push_back(
          unknown(t, "", "counts went back between the scrapes: the exporter restarted"));
      return;
    }
    all += delta;
    if (result == "error") errors += delta;
  }
  if (!(all > 0)) {
    rows.push_back(unknown(t, "", window_note(s, "no identifications")));
  } else {
    rows.push_back(judged(t, "", errors / all));
  }
}

using Check = void (*)(const Scrapes&, std::vector<CheckRow>&);
// Report order: the requirement table first, then the database.
constexpr std::array<Check, 9> kChecks{check_pipeline_p95s, check_identifications, check_cpu,
                                       check_memory,        check_filesystems,     check_pg_up,
                                       check_statements,    check_cache_hit,       check_dead_rows};

// ---------------------------------------------------------------------------------------
// Output.

std::string format_number(core::Unit unit, double value, bool is_threshold) {
  std::array<char, 64> buf{};
  if (unit == core::Unit::Up) {
    if (is_threshold) return "down";
    return value == 1 ? "up" : "down";
  }
  if (unit == core::Unit::Ratio) {
    std::snprintf(buf.data(), buf.size(), is_threshold ? "%g%%" : "%.1f%%", value * 100);
  } else {
    std::snprintf(buf.data(), buf.size(), is_threshold ? "%g s" : "%.3f s", value);
  }
  return buf.data();
}

std::string_view unit_name(core::Unit unit) {
  switch (unit) {
    case core::Unit::Ratio:
      return "ratio";
    case core::Unit::Seconds:
      return "seconds";
    case core::Unit::Up:
      break;
  }
  return "up";
}

// The threshold cell: "<99%" where lower is worse; an up flag has one level only.
std::string threshold_cell(const core::Threshold& t, double level, bool is_warning) {
  if (t.unit == core::Unit::Up) return is_warning ? "-" : "down";
  std::string text = format_number(t.unit, level, true);
  return t.direction == core::Direction::LowerIsWorse ? "<" + text : text;
}

std::string value_cell(const CheckRow& row) {
  if (row.range) return format_seconds_range(*row.range);
  return row.value ? format_number(row.threshold.unit, *row.value, false) : "-";
}

// Terminal columns of UTF-8 text ("–", "≤", a mountpoint's name), one per code point.
std::size_t columns(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Bounds as numbers; null for the open side of the top (or a non-positive first) bucket.
nlohmann::ordered_json range_json(const QuantileRange& range) {
  auto bound = [](double v) {
    return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
  };
  return {{"lower", bound(range.lower)}, {"upper", bound(range.upper)}};
}

std::string row_label(const CheckRow& row) {
  std::string label(row.threshold.what);
  if (!row.target.empty()) label += " " + row.target;
  return label;
}

// ---------------------------------------------------------------------------------------
// Flags.

struct Options {
  std::string url;
  bool url_given = false;  // without --url, status may collect locally when nothing listens
  ExporterClientFlags client_flags;
  http::ClientOptions client;
  bool json = false;
  bool help = false;
  std::chrono::milliseconds interval{1000};
  std::chrono::milliseconds timeout{5000};
  collectors::CollectorSettings settings;
};

constexpr std::string_view kUsage =
    "usage: afp_exporter status [--url URL] [--json] [--interval DURATION] [--timeout DURATION]\n"
    "                           [--tls.ca-file FILE | --tls.insecure-skip-verify]\n"
    "                           [--basic-auth.username NAME --basic-auth.password-file FILE]\n"
    "                           [--path.procfs DIR] [--path.sysfs DIR] [--path.rootfs DIR]\n"
    "Reads the pipeline p95s and identification errors (pushed between the two scrapes),\n"
    "CPU busy, memory used and disk used (and, when the exporter has a DSN, PostgreSQL\n"
    "up, slowest statement mean time, cache hit ratio and dead-row ratio) from the exporter\n"
    "at --url (default http://127.0.0.1:9793/metrics) twice, --interval apart (default\n"
    "1s), and judges them against the thresholds. Without --url, when nothing listens at the\n"
    "default address, it reads the system from the built-in collectors instead.\n"
    "An https:// exporter's certificate is checked against the system's CAs and must name\n"
    "the URL's host. For an exporter with a --web.config.file:\n";

constexpr std::string_view kExitCodes =
    "Exit status: 0 all OK, 1 a warning or critical reading, 2 error or nothing to judge\n"
    "(an exporter that cannot be read: refused credentials, a certificate that fails the\n"
    "check, an answer other than 200, nothing at an explicit --url).\n";

// Throws std::invalid_argument with the message for err.
Options parse_flags(const std::vector<std::string>& args, const std::string& default_url) {
  Options o;
  o.url = default_url;
  FlagReader flag(args, "status");
  while (flag.next()) {
    if (flag.help()) {
      o.help = true;
    } else if (flag.is("json")) {
      flag.no_value();
      o.json = true;
    } else if (flag.is("url")) {
      o.url = flag.value();
      o.url_given = true;
    } else if (read_exporter_client_flag(flag, o.client_flags)) {
      continue;
    } else if (flag.is("path.procfs")) {
      o.settings.procfs = flag.value();
    } else if (flag.is("path.sysfs")) {
      o.settings.sysfs = flag.value();
    } else if (flag.is("path.rootfs")) {
      o.settings.rootfs = flag.value();
    } else if (flag.is("interval")) {
      o.interval = flag.duration();
    } else if (flag.is("timeout")) {
      o.timeout = flag.duration();
    } else {
      flag.unknown();
    }
  }
  if (!o.help) o.client = exporter_client_options(o.client_flags, o.url);
  return o;
}

// ---------------------------------------------------------------------------------------
// Sources: the exporter over HTTP, or the built-in collectors. Both give text that the one
// parser reads.

struct ScrapeFailure {
  bool nothing_listens = false;  // the first request was refused: no exporter at all
  std::string line;              // what went wrong and which flag fixes it
};

// The body of a 200 answer; nullopt with `failure` set otherwise.
std::optional<std::string> http_get(const Options& o, ScrapeFailure& failure) {
  http::ClientError error;
  auto response = http::get(o.url, o.timeout, &error, o.client);
  if (!response) {
    failure.nothing_listens = error.kind == http::ClientError::Kind::Refused;
    failure.line = explain_failure(error, o.url, o.client_flags);
    return std::nullopt;
  }
  if (response->status != 200) {
    failure.line = explain_status(response->status, o.url, o.client_flags);
    return std::nullopt;
  }
  return std::move(response->body);
}

struct TwoScrapes {
  std::vector<Sample> before, after;
  std::chrono::duration<double> elapsed{};
};

// Two parsed scrapes from the exporter; nullopt with `failure` set when it does not answer
// both times with a parseable exposition. elapsed runs from one request to the next: the
// exporter reads PostgreSQL when a scrape arrives, so that is the window its counters span.
std::optional<TwoScrapes> scrape_exporter(const Options& o, ScrapeFailure& failure) {
  std::vector<Sample> scrapes[2];
  std::chrono::steady_clock::time_point sent[2];
  for (int i = 0; i < 2; ++i) {
    if (i == 1) std::this_thread::sleep_for(o.interval);
    sent[i] = std::chrono::steady_clock::now();
    auto body = http_get(o, failure);
    if (!body) {
      failure.nothing_listens = failure.nothing_listens && i == 0;
      return std::nullopt;
    }
    try {
      scrapes[i] = metrics::parse_text(*body);
    } catch (const std::exception& e) {
      failure.line = o.url + " answered 200, but not with a Prometheus exposition: " + e.what();
      return std::nullopt;
    }
  }
  return TwoScrapes{std::move(scrapes[0]), std::move(scrapes[1]), sent[1] - sent[0]};
}

// The exporter's two scrapes; the built-in collectors' when no --url was given and nothing
// listens at the default address. nullopt with the line on err when neither applies.
std::optional<TwoScrapes> read_source(const Options& o, std::string& source, std::ostream& err) {
  if (o.client.tls.skip) {
    err << "status: --tls.insecure-skip-verify: " << o.url
        << " is read without checking its certificate\n";
  }
  ScrapeFailure failure;
  if (auto scrapes = scrape_exporter(o, failure)) {
    source = o.url;
    return scrapes;
  }
  if (o.url_given || !failure.nothing_listens) {
    err << "status: " << failure.line << "\n";
    return std::nullopt;
  }
  err << "status: no exporter at " << o.url << " (connection refused); collecting locally\n";
  source = "local";
  auto [before, after] = collect_locally(o.settings, o.interval, "status", err);
  return TwoScrapes{std::move(before), std::move(after), o.interval};
}

constexpr std::array<std::string_view, 3> kLocalCollectors{"cpu", "meminfo", "filesystem"};

}  // namespace

// ---------------------------------------------------------------------------------------

std::pair<std::vector<Sample>, std::vector<Sample>> collect_locally(
    const collectors::CollectorSettings& settings, std::chrono::milliseconds interval,
    std::string_view command, std::ostream& err) {
  std::vector<std::pair<std::string_view, std::unique_ptr<collectors::Collector>>> local;
  for (auto name : kLocalCollectors) {
    const auto* spec = collectors::find_collector(name);
    if (spec == nullptr) throw std::logic_error("no built-in collector " + std::string(name));
    try {
      local.emplace_back(name, spec->make({settings, nullptr}));
    } catch (const std::exception& e) {
      err << command << ": local " << name << " collector unavailable: " << e.what() << "\n";
    }
  }
  std::set<std::string_view> reported;
  std::vector<Sample> scrapes[2];
  for (int i = 0; i < 2; ++i) {
    if (i == 1) std::this_thread::sleep_for(interval);
    std::string text;
    metrics::TextWriter writer(text);
    for (auto& [name, collector] : local) {
      collectors::ScrapeContext ctx{writer};
      auto mark = text.size();
      try {
        collector->collect(ctx);
      } catch (const std::exception& e) {
        text.resize(mark);  // as the scraper: never half a family
        if (reported.insert(name).second) {
          err << command << ": local " << name << " collector failed: " << e.what() << "\n";
        }
      }
    }
    scrapes[i] = metrics::parse_text(text);
  }
  return {std::move(scrapes[0]), std::move(scrapes[1])};
}

std::vector<CheckRow> evaluate(const std::vector<Sample>& before, const std::vector<Sample>& after,
                               std::chrono::duration<double> elapsed) {
  std::vector<CheckRow> rows;
  Scrapes s{before, after, elapsed};
  for (Check check : kChecks)
    check(s, rows);
  return rows;
}

CheckState judge(const core::Threshold& threshold, double value) {
  return state_of(core::level_of(threshold, value));
}

std::string_view state_name(CheckState state) {
  switch (state) {
    case CheckState::Ok:
      return "OK";
    case CheckState::Warn:
      return "WARN";
    case CheckState::Crit:
      return "CRIT";
    case CheckState::Unknown:
      break;
  }
  return "n/a";
}

int exit_code(const std::vector<CheckRow>& rows) {
  bool any_ok = false;
  for (const auto& row : rows) {
    if (row.state == CheckState::Warn || row.state == CheckState::Crit) return 1;
    any_ok = any_ok || row.state == CheckState::Ok;
  }
  return any_ok ? 0 : 2;
}

void print_table(std::ostream& out, std::string_view source, const std::vector<CheckRow>& rows) {
  struct Cells {
    std::string label, value, warning, critical, state;
  };
  std::vector<Cells> cells{{"CHECK", "VALUE", "WARNING", "CRITICAL", "STATE"}};
  for (const auto& row : rows) {
    std::string state(state_name(row.state));
    if (!row.note.empty()) state += " (" + row.note + ")";
    cells.push_back({row_label(row), value_cell(row),
                     threshold_cell(row.threshold, row.threshold.warning, true),
                     threshold_cell(row.threshold, row.threshold.critical, false), state});
  }
  std::array<std::size_t, 4> width{};
  for (const auto& c : cells) {
    width[0] = std::max(width[0], columns(c.label));
    width[1] = std::max(width[1], columns(c.value));
    width[2] = std::max(width[2], columns(c.warning));
    width[3] = std::max(width[3], columns(c.critical));
  }
  auto pad_left = [](const std::string& s, std::size_t w) {
    return std::string(w > columns(s) ? w - columns(s) : 0, ' ') + s;
  };
  out << "source: " << source << "\n";
  for (const auto& c : cells) {
    out << c.label << std::string(width[0] - columns(c.label), ' ') << "  "
        << pad_left(c.value, width[1]) << "  " << pad_left(c.warning, width[2]) << "  "
        << pad_left(c.critical, width[3]) << "  " << c.state << "\n";
  }
}

void print_json(std::ostream& out, std::string_view source, const std::vector<CheckRow>& rows) {
  // ordered_json keeps the keys in the order written: name first, as people read it.
  auto checks = nlohmann::ordered_json::array();
  for (const auto& row : rows) {
    nlohmann::ordered_json j;
    j["name"] = row.threshold.name;
    if (!row.target.empty()) j["target"] = row.target;
    j["value"] = row.value ? nlohmann::ordered_json(*row.value) : nlohmann::ordered_json(nullptr);
    if (row.range) j["range"] = range_json(*row.range);
    j["unit"] = unit_name(row.threshold.unit);
    j["warning"] = row.threshold.warning;
    j["critical"] = row.threshold.critical;
    if (row.threshold.direction == core::Direction::LowerIsWorse) j["lower_is_worse"] = true;
    j["state"] = state_name(row.state);
    if (!row.note.empty()) j["note"] = row.note;
    checks.push_back(std::move(j));
  }
  nlohmann::ordered_json doc{{"source", source}, {"checks", std::move(checks)}};
  out << doc.dump(2) << "\n";
}

int run_status(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
               const std::string& default_url) {
  Options o;
  try {
    o = parse_flags(args, default_url);
  } catch (const std::invalid_argument& e) {
    err << "status: " << e.what() << "\n";
    return 2;
  }
  if (o.help) {
    out << kUsage << kExporterClientUsage << kExitCodes;
    return 0;
  }
  try {
    std::string source;
    auto scrapes = read_source(o, source, err);
    if (!scrapes) return 2;
    auto rows = evaluate(scrapes->before, scrapes->after, scrapes->elapsed);
    if (o.json) {
      print_json(out, source, rows);
    } else {
      print_table(out, source, rows);
    }
    int code = exit_code(rows);
    if (code == 2) err << "status: nothing could be judged\n";
    return code;
  } catch (const std::exception& e) {
    err << "status: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace afp::cli
