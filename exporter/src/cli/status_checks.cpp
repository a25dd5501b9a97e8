#include "cli/status_checks.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <utility>

#include "cli/status_render.h"
#include "cli/subcommand.h"
#include "metrics/histogram_quantile.h"
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
  std::optional<std::chrono::system_clock::time_point> read_at;
  // How long after PostgreSQL started its cache hit ratio is not judged.
  std::chrono::seconds cache_settle;
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

CheckRow judged(const core::Threshold& t, std::string target, double value) {
  return CheckRow{t, std::move(target), value, core::level_of(t, value), {}, std::nullopt};
}

CheckRow unknown(const core::Threshold& t, std::string target, std::string note,
                 std::optional<double> value = std::nullopt) {
  return CheckRow{t,           std::move(target), value, core::Severity::Unknown, std::move(note),
                  std::nullopt};
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

// A further mountpoint of a row's filesystem: named in its note, and the fullest reading
// judged (bind mounts read the same; distinct filesystems under one device name, such as
// tmpfs, do not).
void fold_bind_mount(CheckRow& row, const std::string& mountpoint, double used) {
  row.note += (row.note.empty() ? "also " : ", ") + mountpoint;
  if (used > *row.value) {
    row.value = used;
    row.state = core::level_of(row.threshold, used);
  }
}

// Disk used per filesystem = 1 - avail / size (the space an unprivileged user can still
// write), as node-mixin's filesystem alerts. Filesystems with a device error or no size
// are left out; read-only ones are shown but not judged. Like AfpFilesystemUsed, which
// aggregates the mountpoint away, the writable mounts of one device and fstype (bind
// mounts: /run/netns, a container's /etc/hosts) are one row: the first mountpoint, the
// others in its note, the fullest reading.
void check_filesystems(const Scrapes& s, std::vector<CheckRow>& rows) {
  const auto& t = core::kDiskUsed;
  auto first = rows.size();
  std::map<std::pair<std::string_view, std::string_view>, std::size_t> row_of_device;
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
      continue;
    }
    auto [seen, is_new] = row_of_device.try_emplace({device, fstype}, rows.size());
    if (is_new) {
      rows.push_back(judged(t, target, used));
    } else {
      fold_bind_mount(rows[seen->second], target, used);
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
// past, and of databases nobody uses. The alert also waits kCacheHitSettleSeconds after
// the postmaster started (pg_postmaster_start_time_seconds), and so does status. Without
// that series (an older exporter) or a clock, status sees only a restart between its two
// scrapes (pg_up 0 in the first, or counters that went back).

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

// Why the cache is not judged yet, from the later scrape's postmaster start time; nullopt
// when it has been up long enough, or when the start time or the clock is unknown. A start
// time ahead of this clock (a skewed host) holds the check back too, as time() - start
// does in the alert: the cache's age is then unknown. %.4g: a hostile 1e300 stays short.
std::optional<std::string> warming_since_start(const Scrapes& s) {
  const auto* start = metrics::find_sample(s.after, "pg_postmaster_start_time_seconds");
  if (start == nullptr || !s.read_at || !std::isfinite(start->value)) return std::nullopt;
  std::chrono::duration<double> now = s.read_at->time_since_epoch();
  double age = now.count() - start->value;
  auto settle = static_cast<long long>(s.cache_settle.count());
  if (age > static_cast<double>(settle)) return std::nullopt;
  std::array<char, 160> buf{};
  if (age < 0) {
    std::snprintf(buf.data(), buf.size(),
                  "PostgreSQL's start time is %.4g s ahead of this clock: its cache may still "
                  "be warming",
                  -age);
  } else {
    std::snprintf(buf.data(), buf.size(),
                  "PostgreSQL started %.4g s ago, judged from %lld s on: its cache is still "
                  "warming",
                  age, settle);
  }
  return std::string(buf.data());
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
  if (auto why = warming_since_start(s)) return unknown(t, target, *why);
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
        t, target, std::nullopt, core::Severity::Ok, idle_note(per_second, seconds), std::nullopt};
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
  CheckRow row{t, "", point, level, {}, range};
  if (may_reach) {
    row.state = core::Severity::Warning;
    double at = *may_reach == core::Severity::Critical ? t.critical : t.warning;
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

}  // namespace

std::vector<CheckRow> evaluate(const std::vector<Sample>& before, const std::vector<Sample>& after,
                               std::chrono::duration<double> elapsed,
                               std::optional<std::chrono::system_clock::time_point> read_at,
                               std::chrono::seconds cache_settle) {
  std::vector<CheckRow> rows;
  Scrapes s{before, after, elapsed, read_at, cache_settle};
  for (Check check : kChecks)
    check(s, rows);
  return rows;
}

int exit_code(const std::vector<CheckRow>& rows) {
  bool any_ok = false;
  for (const auto& row : rows) {
    if (core::is_problem(row.state)) return kExitProblem;
    any_ok = any_ok || row.state == core::Severity::Ok;
  }
  return any_ok ? kExitOk : kExitError;
}

}  // namespace afp::cli
