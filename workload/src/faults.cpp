#include "faults.h"

#include "number_text.h"
#include "pg/connection.h"

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

Faults::Faults(std::string dsn, log::Logger& log) : dsn_(std::move(dsn)), log_(log) {}

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
    case FaultName::SlowFingerprint:
    case FaultName::Errors:
      break;
  }
  std::lock_guard lock(state_mutex_);
  switch (name) {
    case FaultName::SlowFingerprint:
      state_.slowdown = value;
      break;
    case FaultName::DropIndex:
      state_.drop_index = true;
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
  }
  log_.info("fault set", {{"fault", std::string(fault_name(name))}, {"value", number_text(value)}});
}

void Faults::clear(FaultName name) {
  FaultState before = state();
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
    case FaultName::SlowFingerprint:
    case FaultName::Errors:
      break;
  }
  std::lock_guard lock(state_mutex_);
  FaultState off;
  switch (name) {
    case FaultName::SlowFingerprint:
      state_.slowdown = off.slowdown;
      break;
    case FaultName::DropIndex:
      state_.drop_index = off.drop_index;
      break;
    case FaultName::DbStall:
      state_.stall_seconds = off.stall_seconds;
      break;
    case FaultName::Cpu:
      state_.cpu_threads = off.cpu_threads;
      break;
    case FaultName::Errors:
      state_.error_ratio = off.error_ratio;
      break;
  }
  log_.info("fault cleared", {{"fault", std::string(fault_name(name))}});
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

double Faults::fingerprint_slowdown() const {
  std::lock_guard lock(state_mutex_);
  return state_.slowdown;
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
  return Json{{"slow-fingerprint", on_off(s.slowdown != 1, s.slowdown)},
              {"drop-index", s.drop_index},
              {"db-stall", on_off(s.stall_seconds > 0, s.stall_seconds)},
              {"cpu", on_off(s.cpu_threads > 0, s.cpu_threads)},
              {"errors", on_off(s.error_ratio > 0, s.error_ratio)}};
}

void Faults::stop() {
  std::lock_guard lock(apply_mutex_);
  stall_.reset();
  cpu_.reset();
  std::lock_guard state_lock(state_mutex_);
  state_.stall_seconds = 0;
  state_.cpu_threads = 0;
}

}  // namespace afp::workload
