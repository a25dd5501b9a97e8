#include "cli/profile_judge.h"

#include <algorithm>
#include <utility>

namespace afp::cli::profile {

namespace {

// "over the 3 s warning threshold": which level a measure reached, for recommendations.
std::string level_reached(const core::Threshold& t, core::Severity v) {
  bool critical = v == core::Severity::Critical;
  return "over the " + threshold_text(t.unit, critical ? t.critical : t.warning) +
         (critical ? " critical" : " warning") + " threshold";
}

void add_error(std::vector<std::pair<std::string, std::size_t>>& errors, const std::string& why) {
  for (auto& [reason, count] : errors) {
    if (reason == why) {
      ++count;
      return;
    }
  }
  errors.emplace_back(why, 1);
}

Measure timing(std::string id, std::string label, std::vector<double> values,
               std::optional<core::Threshold> requirement) {
  Measure m{std::move(id), std::move(label), summarize(std::move(values)), requirement,
            core::Severity::Unknown};
  if (m.stats && requirement) m.verdict = core::level_of(*requirement, m.stats->p95);
  return m;
}

const Measure* find_measure(const Section& s, std::string_view id) {
  for (const auto& m : s.measures) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

// ---------------------------------------------------------------------------------------
// Uploads.

constexpr std::string_view kFingerprintAdvice =
    "lower the FFT window overlap (Dejavu's DEFAULT_OVERLAP_RATIO) or the fan value "
    "(DEFAULT_FAN_VALUE), downsample the audio to 11025 Hz before fingerprinting, or add CPU";

std::string stage_id(const std::string& stage) {
  return "stage_" + stage;
}

std::optional<core::Threshold> stage_requirement(std::string_view stage) {
  if (stage == kFingerprintStage) return core::kFingerprintGenerationP95;
  if (stage == kDbStage) return core::kDbQueryP95;
  return std::nullopt;
}

std::vector<double> stage_seconds(const std::vector<pipeline::ProbeResult>& runs,
                                  std::string_view stage) {
  std::vector<double> out;
  for (const auto& r : runs) {
    if (!r.success) continue;
    for (const auto& s : r.stages) {
      if (s.name == stage) {
        out.push_back(s.seconds);
        break;  // Server-Timing: the first of a name wins
      }
    }
  }
  return out;
}

// Why the total is slow, from the stages the app reports.
std::string total_advice(const Section& s, const Measure& total) {
  std::string text = "API total processing p95 is " + seconds_text(total.stats->p95) + ", " +
                     level_reached(*total.requirement, total.verdict);
  const Measure* largest = nullptr;
  for (const auto& m : s.measures) {
    if (&m == &total || !m.stats) continue;
    if (largest == nullptr || m.stats->p95 > largest->stats->p95) largest = &m;
  }
  if (largest == nullptr) {
    return text +
           ": the app sends no Server-Timing stages; add them (fingerprint, db, ...) to see "
           "where the time goes";
  }
  std::string stage = largest->id.substr(stage_id("").size());
  if (largest->stats->p95 >= total.stats->p95 / 2) {
    return text + ": most of it is stage " + stage + " (p95 " + seconds_text(largest->stats->p95) +
           ")" + (core::is_problem(largest->verdict) ? ", see below" : "");
  }
  return text + ": the app's largest stage, " + stage + ", is only p95 " +
         seconds_text(largest->stats->p95) +
         "; the rest is upload, queueing or untimed work: check the network path, the upload "
         "size and the number of app workers";
}

void recommend_uploads(Section& s) {
  if (s.failed > 0) {
    s.recommendations.push_back(std::to_string(s.failed) + " of " + std::to_string(s.iterations) +
                                " uploads failed (reasons above; the app's log says more): the "
                                "run fails until every upload succeeds, and the failed ones are "
                                "not in the percentiles");
  }
  const Measure* total = find_measure(s, "api_total");
  if (total != nullptr && core::is_problem(total->verdict))
    s.recommendations.push_back(total_advice(s, *total));
  const Measure* fp = find_measure(s, stage_id(std::string(kFingerprintStage)));
  if (fp != nullptr && core::is_problem(fp->verdict)) {
    s.recommendations.push_back("fingerprint generation p95 is " + seconds_text(fp->stats->p95) +
                                ", " + level_reached(*fp->requirement, fp->verdict) + ": " +
                                std::string(kFingerprintAdvice));
  }
  const Measure* db = find_measure(s, stage_id(std::string(kDbStage)));
  if (db != nullptr && core::is_problem(db->verdict)) {
    s.recommendations.push_back(
        "stage db p95 is " + seconds_text(db->stats->p95) + ", " +
        level_reached(*db->requirement, db->verdict) +
        ": run afp_exporter profile --mode database for the look-up plan, and afp_exporter db "
        "report for a missing hash index or stale statistics");
  }
}

// ---------------------------------------------------------------------------------------
// Database.

double rows_read(const PlanScan& scan) {
  return (scan.actual_rows + scan.removed_rows) * std::max(scan.loops, 1.0);
}

// The first scan of the fingerprint table whose row estimate is far off, if any.
const PlanScan* estimate_far_off(const PlanFacts& plan) {
  if (!plan.analyzed) return nullptr;
  for (const auto& s : plan.scans) {
    double lo = std::min(s.plan_rows, s.actual_rows), hi = std::max(s.plan_rows, s.actual_rows);
    if (hi >= kEstimateMinRows && (hi + 1) / (lo + 1) >= kEstimateFactor) return &s;
  }
  return nullptr;
}

Reading judge_plan(const DatabaseFacts& f) {
  Reading r;
  r.id = "lookup_plan";
  r.label = "look-up plan";
  r.target = f.table;
  if (!f.plan) {
    r.text = "unknown";
    r.note = "EXPLAIN failed: " + f.plan_error;
    return r;
  }
  if (const PlanScan* seq = f.plan->seq_scan()) {
    r.text = describe(*seq) + " on " + f.table;
    if (f.plan->analyzed) r.text += " (" + count_text(rows_read(*seq)) + " rows read)";
    if (!f.index_fix.empty()) {
      r.verdict = core::Severity::Critical;
      r.note = "no index serves look-ups";
    } else if (!f.plan->analyzed || rows_read(*seq) >= static_cast<double>(pg::kSeqScanMinRows)) {
      r.verdict = core::Severity::Warning;
      r.note = "an index exists, the planner does not use it";
    } else {
      r.verdict = core::Severity::Ok;
      r.note = "small table: a sequential scan is cheapest";
    }
    return r;
  }
  if (f.plan->scans.empty()) {
    r.text = "no scan of " + f.table;
    r.note = "the plan does not read the table";
    return r;
  }
  const PlanScan& scan = f.plan->scans.front();
  r.text = describe(scan) + " on " + f.table;
  if (scan.index.empty() && !f.plan->indexes.empty()) r.text += " using " + join(f.plan->indexes);
  r.verdict = core::Severity::Ok;
  return r;
}

// The plan's verdict, and why it lacks run-time figures when EXPLAIN ANALYZE failed.
Reading plan_reading(const DatabaseFacts& f) {
  Reading r = judge_plan(f);
  if (f.plan && !f.plan->analyzed && !f.plan_error.empty()) {
    r.note += (r.note.empty() ? "" : "; ") + std::string("no run-time figures: ") + f.plan_error;
  }
  return r;
}

void recommend_database(const DatabaseFacts& f, Section& s) {
  const Measure& lookup = s.measures.front();
  const Reading& plan = s.readings.front();
  bool analyze_advised = false;
  if (!f.index_fix.empty()) {
    std::string why = plan.verdict == core::Severity::Critical
                          ? "each look-up reads the whole table (" + plan.text + ")"
                          : "no valid index on " + f.table + " starts with the hash column";
    s.recommendations.push_back("no index serves the look-ups: " + why +
                                "; create Dejavu's hash index: " + f.index_fix +
                                " (or afp_exporter db optimize --apply, as the table owner)");
  } else if (plan.verdict == core::Severity::Warning) {
    analyze_advised = true;
    s.recommendations.push_back("the planner reads " + f.table +
                                " sequentially although a look-up index exists: refresh its "
                                "statistics with " +
                                f.analyze_sql +
                                " and check that the index is valid (afp_exporter db report)");
  }
  if (const PlanScan* off = f.plan ? estimate_far_off(*f.plan) : nullptr; off && !analyze_advised) {
    analyze_advised = true;
    s.recommendations.push_back("the planner expected " + count_text(off->plan_rows) +
                                " rows from " + f.table + " per loop, the look-up gave " +
                                count_text(off->actual_rows) + ": its statistics are stale; " +
                                f.analyze_sql);
  }
  bool slow = core::is_problem(lookup.verdict);
  double blocks = f.plan ? f.plan->shared_hit_blocks + f.plan->shared_read_blocks : 0;
  bool cache_misses = f.plan && f.plan->analyzed && blocks >= kPlanMinBlocks &&
                      f.plan->shared_hit_blocks / blocks < kPlanCacheHitRatio;
  if (slow && plan.verdict == core::Severity::Ok && cache_misses) {
    s.recommendations.push_back(
        "look-ups p95 is " + seconds_text(lookup.stats->p95) + " and the one explained read " +
        count_text(f.plan->shared_read_blocks) + " of " + count_text(blocks) +
        " blocks from outside shared buffers: give PostgreSQL more memory (shared_buffers, or RAM "
        "for the OS cache) so the fingerprint index stays cached");
  } else if (slow && plan.verdict == core::Severity::Ok && !analyze_advised) {
    s.recommendations.push_back("look-ups use " + plan.text + " and still take p95 " +
                                seconds_text(lookup.stats->p95) +
                                ": check the server's load and the table's dead rows and bloat "
                                "(afp_exporter db report)");
  }
  if (s.failed > 0) {
    s.recommendations.push_back(std::to_string(s.failed) + " of " + std::to_string(s.iterations) +
                                " look-ups failed (reasons above): a statement timeout means they "
                                "take longer than --timeout");
  }
}

// ---------------------------------------------------------------------------------------
// System.

std::string system_advice(const Reading& r) {
  std::string head = r.label + " is " + value_text(core::Unit::Ratio, *r.value) + ", " +
                     level_reached(*r.requirement, r.verdict) + ": ";
  if (r.id == core::kCpuBusy.name) {
    return head + "fingerprinting is CPU-bound; add CPU, or run fewer app workers per core";
  }
  if (r.id == core::kMemoryUsed.name) {
    return head +
           "add RAM or run fewer app workers; PostgreSQL needs free memory to cache the "
           "fingerprint index";
  }
  return head + "free space or grow the filesystem; PostgreSQL stops when its disk is full";
}

}  // namespace

bool has_stage(const std::vector<pipeline::ProbeResult>& runs, std::string_view stage) {
  return !stage_seconds(runs, stage).empty();
}

std::vector<std::string> stage_names(const std::vector<pipeline::ProbeResult>& runs) {
  std::vector<std::string> names;
  for (const auto& r : runs) {
    if (!r.success) continue;
    for (const auto& s : r.stages) {
      if (std::find(names.begin(), names.end(), s.name) == names.end()) names.push_back(s.name);
    }
  }
  return names;
}

Section judge_uploads(const std::vector<pipeline::ProbeResult>& runs, UploadView view,
                      std::string target, std::string what) {
  Section s;
  s.name = view == UploadView::Api ? "api" : "audio";
  s.target = std::move(target);
  s.what = std::move(what);
  s.iterations = runs.size();
  std::vector<double> totals;
  for (const auto& r : runs) {
    if (r.success) {
      totals.push_back(r.duration_seconds);
    } else {
      ++s.failed;
      add_error(s.errors, r.error);
    }
  }
  if (view == UploadView::Audio) {
    std::string stage(kFingerprintStage);
    s.measures.push_back(timing(stage_id(stage), "fingerprint generation",
                                stage_seconds(runs, stage), core::kFingerprintGenerationP95));
  } else {
    s.measures.push_back(
        timing("api_total", "API total processing", std::move(totals), core::kApiProcessingP95));
    // The stages with a requirement first, then the others in the app's order.
    auto names = stage_names(runs);
    std::stable_partition(names.begin(), names.end(),
                          [](const std::string& n) { return stage_requirement(n).has_value(); });
    for (const auto& name : names) {
      s.measures.push_back(timing(stage_id(name), "stage " + name, stage_seconds(runs, name),
                                  stage_requirement(name)));
    }
  }
  recommend_uploads(s);
  return s;
}

std::string missing_index_fix(const std::vector<pg::Finding>& findings) {
  for (const auto& f : findings) {
    if (f.id != "hash_index_missing") continue;
    if (!f.fix_sql.empty()) return f.fix_sql;
    std::string sql = f.action ? f.action->sql : std::string();
    return f.blocked.empty() ? sql : sql + " (" + f.blocked + ")";
  }
  return {};
}

Section judge_database(const DatabaseFacts& f) {
  Section s;
  s.name = "database";
  s.target = f.target;
  s.what = std::to_string(f.iterations) + " look-ups of " + std::to_string(f.hashes) +
           " random hashes in " + f.table;
  s.iterations = f.iterations;
  s.failed = f.errors.size();
  for (const auto& e : f.errors)
    add_error(s.errors, e);
  s.measures.push_back(timing("db_lookup", "look-up (" + std::to_string(f.hashes) + " hashes)",
                              f.seconds, core::kDbQueryP95));
  s.readings.push_back(plan_reading(f));
  recommend_database(f, s);
  return s;
}

Section judge_system(const std::vector<CheckRow>& rows, std::string target, std::string what) {
  Section s;
  s.name = "system";
  s.target = std::move(target);
  s.what = std::move(what);
  for (const auto& row : rows) {
    Reading r;
    r.id = row.threshold.name;
    r.label = std::string(row.threshold.what) + (row.target.empty() ? "" : " " + row.target);
    r.target = row.target;
    r.value = row.value;
    r.requirement = row.threshold;
    r.verdict = row.state;
    r.note = row.note;
    if (core::is_problem(r.verdict) && r.value) s.recommendations.push_back(system_advice(r));
    s.readings.push_back(std::move(r));
  }
  return s;
}

}  // namespace afp::cli::profile
