#include "faults.h"

#include "number_text.h"
#include "pg/connection.h"
#include "table_faults.h"

namespace afp::workload {

namespace {

// An index build on a large table takes minutes; a DROP waits for running look-ups.
constexpr auto kIndexStatementTimeout = std::chrono::minutes(10);

const std::vector<std::string> kDropIndex{"DROP INDEX IF EXISTS ix_fingerprints_hash"};
// A CONCURRENTLY build that failed leaves an invalid index behind, which IF NOT EXISTS
// would then keep: drop such a leftover first.
const std::vector<std::string> kRestoreIndex{
    "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
    "WHERE c.relname = 'ix_fingerprints_hash' AND NOT i.indisvalid) THEN "
    "DROP INDEX ix_fingerprints_hash; END IF; END $$",
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS ix_fingerprints_hash ON fingerprints USING hash "
    "(hash)"};

}  // namespace

Faults::Faults(std::string dsn, log::Logger& log, MemoryHogOptions memory)
    : dsn_(std::move(dsn)), log_(log), memory_options_(std::move(memory)) {}

Faults::~Faults() {
  stop();
}

void Faults::apply(const std::vector<FaultSpec>& specs) {
  for (const auto& spec : specs)
    apply(spec);
}

void Faults::apply(const FaultSpec& spec) {
  std::lock_guard lock(apply_mutex_);
  switch (spec.action) {
    case FaultSpec::Action::Set:
      set(spec.name, spec.value);
      break;
    case FaultSpec::Action::Clear:
      clear(spec.name);
      break;
    case FaultSpec::Action::ClearAll:
      // The index last: its build must not wait behind a stall that is about to end.
      for (auto name : kAllFaults) {
        if (name != FaultName::DropIndex) clear(name);
      }
      if (state().drop_index) clear(FaultName::DropIndex);
      break;
  }
}

void Faults::set(FaultName name, double value) {
  FaultState before = state();
  // Rows from an earlier value would add to the new one's: the new ratio starts afresh.
  if ((name == FaultName::DeadRows && before.dead_row_ratio > 0) ||
      (name == FaultName::StaleStats && before.stale_row_ratio > 0))
    end(name, before);
  start(name, value);
  // drop-index and probe-unreachable carry no value: on is 1.
  bool switch_only = name == FaultName::DropIndex || name == FaultName::ProbeUnreachable;
  record(name, switch_only ? 1 : value);
  if (name == FaultName::SlowApi) wake_held_answers();
  log_.info("fault set", {{"fault", std::string(fault_name(name))}, {"value", number_text(value)}});
}

void Faults::start(FaultName name, double value) {
  FaultState now = state();
  switch (name) {
    case FaultName::DropIndex:
      run_sql(kDropIndex, "drop-index");
      break;
    case FaultName::DbStall:
      stall_.reset();  // a new length: a new stall
      stall_ = std::make_unique<DbStall>(dsn_, value, log_);
      break;
    case FaultName::Cpu:
      cpu_.reset();
      cpu_ = std::make_unique<CpuBurner>(static_cast<int>(value));
      break;
    case FaultName::Memory: {
      memory_.reset();
      auto options = memory_options_;
      options.target_ratio = value;
      memory_ = std::make_unique<MemoryHog>(options, log_);
      break;
    }
    case FaultName::DeadRows:
      run_sql(dead_rows_on(value), "dead-rows");
      break;
    case FaultName::StaleStats:
      run_sql(stale_stats_on(value), "stale-stats");
      break;
    case FaultName::ProbeUnreachable:
      if (!probe_switch_) {
        throw FaultUnavailable(
            "probe-unreachable: this service has no probe listener (serve --probe-listen "
            "HOST:PORT)");
      }
      if (!now.probe_unreachable) probe_switch_(false);
      break;
    case FaultName::SlowFingerprint:
    case FaultName::Errors:
    case FaultName::SlowApi:
      break;
  }
}

void Faults::record(FaultName name, double value) {
  std::lock_guard lock(state_mutex_);
  switch (name) {
    case FaultName::SlowFingerprint:
      state_.fingerprint_seconds = value;
      break;
    case FaultName::DropIndex:
      state_.drop_index = value != 0;
      break;
    case FaultName::DbStall:
      state_.stall_seconds = value;
      break;
    case FaultName::Cpu:
      state_.cpu_threads = static_cast<int>(value);
      break;
    case FaultName::Errors:
      state_.error_ratio = value;
      error_credit_ = 0;
      break;
    case FaultName::SlowApi:
      state_.api_delay_seconds = value;
      break;
    case FaultName::Memory:
      state_.memory_ratio = value;
      break;
    case FaultName::DeadRows:
      state_.dead_row_ratio = value;
      break;
    case FaultName::StaleStats:
      state_.stale_row_ratio = value;
      break;
    case FaultName::ProbeUnreachable:
      state_.probe_unreachable = value != 0;
      break;
  }
}

void Faults::clear(FaultName name) {
  end(name, state());
  record(name, 0);
  if (name == FaultName::SlowApi) wake_held_answers();
  log_.info("fault cleared", {{"fault", std::string(fault_name(name))}});
}

void Faults::end(FaultName name, const FaultState& before) {
  switch (name) {
    case FaultName::DropIndex:
      if (before.drop_index) run_sql(kRestoreIndex, "clear=drop-index");
      break;
    case FaultName::DbStall:
      stall_.reset();
      break;
    case FaultName::Cpu:
      cpu_.reset();
      break;
    case FaultName::Memory:
      memory_.reset();
      break;
    case FaultName::DeadRows:
      if (before.dead_row_ratio > 0)
        run_sql(dead_rows_off(before.stale_row_ratio > 0), "clear=dead-rows");
      break;
    case FaultName::StaleStats:
      if (before.stale_row_ratio > 0)
        run_sql(stale_stats_off(before.dead_row_ratio > 0), "clear=stale-stats");
      break;
    case FaultName::ProbeUnreachable:
      if (before.probe_unreachable && probe_switch_) probe_switch_(true);
      break;
    case FaultName::SlowFingerprint:
    case FaultName::Errors:
    case FaultName::SlowApi:
      break;
  }
}

void Faults::run_sql(const std::vector<std::string>& statements, std::string_view fault) {
  pg::ConnectionOptions options;
  options.statement_timeout = kIndexStatementTimeout;
  pg::Connection conn(dsn_, options, log_);
  try {
    // IF [NOT] EXISTS says "skipping" as a NOTICE, which libpq prints.
    conn.query("SET client_min_messages = warning", pg::Clock::now() + std::chrono::seconds(10));
    for (const auto& sql : statements)
      conn.query(sql, pg::Clock::now() + kIndexStatementTimeout + std::chrono::seconds(5));
  } catch (const pg::PgError& e) {
    throw FaultError(std::string(fault) + ": " + e.what());
  }
}

double Faults::fingerprint_seconds() const {
  std::lock_guard lock(state_mutex_);
  return state_.fingerprint_seconds;
}

bool Faults::hold_answer(int max_held) {
  std::unique_lock lock(state_mutex_);
  double seconds = state_.api_delay_seconds;
  if (seconds <= 0 || held_answers_ >= max_held) return false;
  ++held_answers_;
  auto generation = delay_generation_;
  answers_released_.wait_for(lock, std::chrono::duration<double>(seconds),
                             [&] { return delay_generation_ != generation; });
  --held_answers_;
  return true;
}

int Faults::answers_held() const {
  std::lock_guard lock(state_mutex_);
  return held_answers_;
}

void Faults::wake_held_answers() {
  std::lock_guard lock(state_mutex_);
  ++delay_generation_;
  answers_released_.notify_all();
}

void Faults::set_probe_switch(std::function<void(bool reachable)> probe_switch) {
  std::lock_guard lock(apply_mutex_);
  probe_switch_ = std::move(probe_switch);
}

bool Faults::fail_this_request() {
  std::lock_guard lock(state_mutex_);
  if (state_.error_ratio <= 0) return false;
  error_credit_ += state_.error_ratio;
  if (error_credit_ < 1 - 1e-9) return false;
  error_credit_ -= 1;
  return true;
}

FaultState Faults::state() const {
  std::lock_guard lock(state_mutex_);
  return state_;
}

nlohmann::ordered_json Faults::state_json() const {
  using Json = nlohmann::ordered_json;
  auto s = state();
  auto on_off = [](bool on, auto value) { return on ? Json(value) : Json(false); };
  return Json{{"slow-fingerprint", on_off(s.fingerprint_seconds > 0, s.fingerprint_seconds)},
              {"drop-index", s.drop_index},
              {"db-stall", on_off(s.stall_seconds > 0, s.stall_seconds)},
              {"cpu", on_off(s.cpu_threads > 0, s.cpu_threads)},
              {"errors", on_off(s.error_ratio > 0, s.error_ratio)},
              {"slow-api", on_off(s.api_delay_seconds > 0, s.api_delay_seconds)},
              {"memory", on_off(s.memory_ratio > 0, s.memory_ratio)},
              {"dead-rows", on_off(s.dead_row_ratio > 0, s.dead_row_ratio)},
              {"stale-stats", on_off(s.stale_row_ratio > 0, s.stale_row_ratio)},
              {"probe-unreachable", s.probe_unreachable}};
}

void Faults::stop() {
  {
    std::lock_guard lock(apply_mutex_);
    stall_.reset();
    cpu_.reset();
    memory_.reset();
    std::lock_guard state_lock(state_mutex_);
    state_.stall_seconds = 0;
    state_.cpu_threads = 0;
    state_.memory_ratio = 0;
    state_.api_delay_seconds = 0;
  }
  wake_held_answers();  // in-flight answers go out at once; the server waits for them
}

}  // namespace afp::workload
