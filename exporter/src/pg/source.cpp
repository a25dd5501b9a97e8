#include "pg/source.h"

#include <charconv>
#include <cmath>

namespace afp::pg {

namespace {

// The connection check and the start time in one round trip: any query proves the server
// answers, and this one also tells a restart that happened between two collections.
constexpr const char* kUpQuery = "SELECT EXTRACT(EPOCH FROM pg_postmaster_start_time())::float8";

ConnectionOptions naming_source(ConnectionOptions options, const Dsn& dsn) {
  options.dsn_source = dsn.source;
  return options;
}

// One row, one non-NULL column: the start time; anything else is no start time.
std::optional<double> start_time_of(const Result& result) {
  if (result.rows() != 1 || result.columns() != 1 || result.is_null(0, 0)) return std::nullopt;
  return parse_epoch_seconds(result.value(0, 0));
}

}  // namespace

std::optional<double> parse_epoch_seconds(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

Source::Source(Dsn dsn, SourceOptions options, log::Logger& log)
    : dsn_(std::move(dsn)),
      options_(options),
      connection_(dsn_.conninfo, naming_source(options.connection, dsn_), log),
      thread_([this] { run(); }) {}

Source::~Source() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  requested_.notify_all();
  thread_.join();
}

void Source::add(std::string name, std::unique_ptr<PgQuery> query) {
  std::lock_guard lock(mutex_);  // the thread reads queries_ once a snapshot is asked for
  queries_.emplace_back(std::move(name), std::move(query));
}

bool Source::reusable(Clock::time_point scrape_start, Clock::time_point now) const {
  if (!last_) return false;
  bool fresh = last_->started >= scrape_start || now - last_->started < options_.cache_ttl;
  bool late = last_unclaimed_ && now - last_finished_ < options_.budget;
  return fresh || late || claimed_by_ == scrape_start;
}

std::shared_ptr<const Snapshot> Source::claim(Clock::time_point scrape_start) {
  if (last_unclaimed_) {
    last_unclaimed_ = false;
    claimed_by_ = scrape_start;  // the scrape's other PostgreSQL collectors share it
  }
  return last_;
}

bool Source::start_unless_reusable(Clock::time_point scrape_start) {
  if (in_flight_) return true;
  if (reusable(scrape_start, Clock::now())) return false;
  in_flight_ = true;
  requested_.notify_one();
  return true;
}

void Source::prefetch(Clock::time_point scrape_start) {
  if (!options_.prefetch) return;
  std::lock_guard lock(mutex_);
  start_unless_reusable(scrape_start);
}

std::shared_ptr<const Snapshot> Source::snapshot(Clock::time_point scrape_start,
                                                 Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  if (!start_unless_reusable(scrape_start)) return claim(scrape_start);
  auto generation = generation_;
  ++waiting_;
  bool done = finished_.wait_until(lock, deadline, [&] { return generation_ != generation; });
  --waiting_;
  if (!done) {
    auto timed_out = std::make_shared<Snapshot>();
    timed_out->timed_out = true;
    timed_out->error =
        "the scrape's deadline passed before the PostgreSQL collection finished (it goes on, "
        "and serves the next scrape)";
    return timed_out;
  }
  return claim(scrape_start);
}

void Source::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    requested_.wait(lock, [&] { return in_flight_ || stopping_; });
    if (stopping_) return;
    // Once every scrape that waited for the last result has taken it, nothing takes it
    // again while a collection is in flight (scrapes wait for the new one), and the
    // scrapes still sending it hold it themselves: letting go of it here keeps two
    // collections' texts (megabytes with many statements) from being resident at once.
    if (waiting_ == 0) last_.reset();
    lock.unlock();
    auto result = collect(Clock::now() + options_.budget);
    lock.lock();
    last_ = std::move(result);
    last_finished_ = Clock::now();
    last_unclaimed_ = waiting_ == 0;
    in_flight_ = false;
    ++generation_;
    finished_.notify_all();
  }
}

std::shared_ptr<const Snapshot> Source::collect(Clock::time_point deadline) {
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->started = Clock::now();
  try {
    auto result = connection_.query(kUpQuery, deadline);
    snapshot->up = true;
    snapshot->postmaster_start = start_time_of(result);
  } catch (const std::exception& e) {
    snapshot->error = e.what();
  }
  for (auto& [name, query] : queries_) {
    Part& part = snapshot->parts[name];
    if (!snapshot->up) {
      part.error = "PostgreSQL is down: " + snapshot->error;
      continue;
    }
    try {
      metrics::TextWriter writer(part.text);
      query->collect(connection_, writer, deadline);
      part.deferred = query->take_deferred();
      part.ok = true;
    } catch (const std::exception& e) {
      part.text.clear();
      part.error = e.what();
    }
  }
  return snapshot;
}

}  // namespace afp::pg
