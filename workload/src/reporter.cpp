#include "reporter.h"

#include <algorithm>
#include <cmath>

namespace afp::workload {

namespace {

using Clock = std::chrono::steady_clock;
using pipeline::Kind;

constexpr auto kDropLogInterval = std::chrono::minutes(1);
constexpr auto kFinalRetryPause = std::chrono::milliseconds(100);

}  // namespace

std::unique_ptr<Reporter> Reporter::create(std::string_view url, log::Logger& log,
                                           ReporterOptions options) {
  std::unique_ptr<ReportTransport> transport;
  if (url.starts_with("http://") || url.starts_with("https://")) {
    transport = make_http_transport(url, log);
  } else if (url.starts_with("statsd://")) {
    transport = make_statsd_transport(url, log);
  } else if (url != "none") {
    throw ReporterError("report URL \"" + std::string(url) +
                        "\": expected http://HOST:PORT, statsd://HOST:PORT or none");
  }
  return std::make_unique<Reporter>(std::move(transport), log, options);
}

Reporter::Reporter(std::unique_ptr<ReportTransport> transport, log::Logger& log,
                   ReporterOptions options)
    : transport_(std::move(transport)), log_(log), options_(options), queue_(options.max_queued) {
  if (transport_) thread_ = std::thread(&Reporter::loop, this);
}

Reporter::~Reporter() {
  stop();
}

void Reporter::fingerprint_generation(double seconds) {
  submit({Kind::FingerprintGeneration, seconds, {}});
}
void Reporter::api_request(double seconds, std::string_view endpoint, std::string_view method,
                           int status) {
  submit({Kind::ApiRequest,
          seconds,
          {std::string(endpoint), std::string(method), std::to_string(status)}});
}
void Reporter::db_query(double seconds, std::string_view operation) {
  submit({Kind::DbQuery, seconds, {std::string(operation), {}, {}}});
}
void Reporter::identification(std::string_view result) {
  submit({Kind::Identification, 1, {std::string(result), {}, {}}});
}
void Reporter::audio_processed(double seconds) {
  submit({Kind::AudioProcessed, seconds, {}});
}
void Reporter::fingerprint_hashes(std::uint64_t count) {
  submit({Kind::FingerprintHashes, static_cast<double>(count), {}});
}

void Reporter::submit(ReportObservation observation) {
  if (!transport_) return;
  if (!std::isfinite(observation.value) || observation.value < 0) {
    // The exporter would refuse the whole batch for it: a bug here must not cost the others.
    log_.warn("not reporting an invalid observation",
              {{"metric", std::string(pipeline::wire_name(observation.kind))},
               {"value", std::to_string(observation.value)}});
    return;
  }
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    queue_.push(std::move(observation));
    collect_drops();
    wake = queue_.size() >= options_.batch_size;
  }
  if (wake) wake_.notify_one();
}

ReporterCounters Reporter::counters() const {
  std::lock_guard lock(mutex_);
  ReporterCounters c = counters_;
  c.queued = queue_.size();
  return c;
}

void Reporter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void Reporter::loop() {
  std::unique_lock lock(mutex_);
  auto next_tick = Clock::now() + options_.flush_interval;
  bool backing_off = false;  // after a failed send, wait for the tick whatever is queued
  while (!stopping_) {
    wake_.wait_until(lock, next_tick, [&] {
      return stopping_ || (!backing_off && queue_.size() >= options_.batch_size);
    });
    if (stopping_) break;
    if (Clock::now() >= next_tick) next_tick = Clock::now() + options_.flush_interval;
    backing_off = !drain(lock, options_.send_timeout);
    log_drops(false);
  }
  final_flush(lock);
}

// Sends everything queued, batch by batch; false when a send failed (its batch is back in
// the queue for the next tick).
bool Reporter::drain(std::unique_lock<std::mutex>& lock, std::chrono::milliseconds timeout) {
  while (!queue_.empty()) {
    auto batch = queue_.take(options_.batch_size);
    lock.unlock();  // callers keep queueing while the network is slow
    auto outcome = transport_->send(batch, timeout);
    lock.lock();
    switch (outcome) {
      case ReportTransport::Outcome::Sent:
        counters_.sent += batch.size();
        break;
      case ReportTransport::Outcome::Drop:
        counters_.dropped += batch.size();
        break;
      case ReportTransport::Outcome::Retry:
        ++counters_.retried;
        queue_.give_back(std::move(batch));
        collect_drops();
        return false;
    }
  }
  return true;
}

void Reporter::final_flush(std::unique_lock<std::mutex>& lock) {
  auto deadline = Clock::now() + options_.stop_deadline;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (queue_.empty() || left.count() <= 0) break;
    if (drain(lock, std::min(left, options_.send_timeout))) break;
    lock.unlock();
    std::this_thread::sleep_for(std::min(kFinalRetryPause, left));
    lock.lock();
  }
  if (!queue_.empty()) {
    log_.warn("stopping with observations the exporter did not take; they are lost",
              {{"observations", std::to_string(queue_.size())}});
    counters_.dropped += queue_.size();
    queue_.take(queue_.size());
  }
  log_drops(true);
}

void Reporter::collect_drops() {
  auto n = queue_.take_dropped();
  counters_.dropped += n;
  unlogged_drops_ += n;
}

void Reporter::log_drops(bool force) {
  if (unlogged_drops_ == 0) return;
  auto now = Clock::now();
  bool first = last_drop_log_ == Clock::time_point{};
  if (!force && !first && now - last_drop_log_ < kDropLogInterval) return;
  log_.warn("the observation queue is full; dropped the oldest",
            {{"dropped", std::to_string(unlogged_drops_)},
             {"max_queued", std::to_string(options_.max_queued)}});
  unlogged_drops_ = 0;
  last_drop_log_ = now;
}

}  // namespace afp::workload
