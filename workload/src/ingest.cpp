#include "ingest.h"

#include <thread>
#include <vector>

#include "audio.h"
#include "core/progress.h"
#include "file_digest.h"
#include "fingerprint.h"
#include "number_text.h"
#include "stopwatch.h"

namespace afp::workload {

namespace {

constexpr int kAttempts = 3;  // per song, while the database is away
constexpr auto kRetryPause = std::chrono::seconds(2);
constexpr std::int64_t kProgressEveryMs = 5000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string ingest_progress_text(const IngestCounts& c) {
  return "songs " + core::count_of(c.stored + c.skipped + c.failed, c.total) + ": stored " +
         std::to_string(c.stored) + ", skipped " + std::to_string(c.skipped) + ", failed " +
         std::to_string(c.failed);
}

Ingest::Ingest(IngestOptions options, SongStore& store, Reporter& reporter, log::Logger& log)
    : options_(options), store_(store), reporter_(reporter), log_(log) {}

IngestCounts Ingest::run() {
  last_log_ms_.store(now_ms());
  log_.info("ingest started", {{"songs", std::to_string(options_.songs)},
                               {"first_seed", std::to_string(options_.first_seed)},
                               {"song_seconds", number_text(options_.song_seconds)},
                               {"jobs", std::to_string(options_.jobs)}});
  work(1);
  if (stored_.load() > 0) analyze();
  std::vector<std::thread> workers;
  for (int i = 0; i < std::max(1, options_.jobs); ++i)
    workers.emplace_back(&Ingest::work, this, options_.songs);
  for (auto& w : workers)
    w.join();
  if (stored_.load() > 1) analyze();
  log_progress(true);
  return counts();
}

void Ingest::analyze() {
  try {
    store_.analyze();
  } catch (const std::exception& e) {
    log_.warn("ANALYZE failed; look-ups may not use the hash index", {{"err", e.what()}});
  }
}

void Ingest::work(int until) {
  for (;;) {
    if (next_.load() >= until || stopping_.load()) return;
    int i = next_.fetch_add(1);
    if (i >= options_.songs) return;
    std::uint64_t seed = options_.first_seed + static_cast<std::uint64_t>(i);
    for (int attempt = 1;; ++attempt) {
      try {
        ingest_song(seed);
        break;
      } catch (const DbUnavailable& e) {
        if (attempt == kAttempts || stopping_.load()) {
          log_.error("ingest of a song failed",
                     {{"seed", std::to_string(seed)}, {"err", e.what()}});
          ++failed_;
          break;
        }
        std::this_thread::sleep_for(kRetryPause);
      } catch (const std::exception& e) {
        log_.error("ingest of a song failed", {{"seed", std::to_string(seed)}, {"err", e.what()}});
        ++failed_;
        break;
      }
    }
    log_progress(false);
  }
}

void Ingest::ingest_song(std::uint64_t seed) {
  Audio audio = synth_song(seed, options_.song_seconds);
  // Dejavu hashes the file: here the WAV the song would be shipped as.
  FileSha1 digest = sha1_of(encode_wav(audio));
  if (store_.is_fingerprinted(digest)) {
    ++skipped_;
    return;
  }
  Stopwatch watch;
  auto landmarks = fingerprint(audio);
  reporter_.fingerprint_generation(watch.seconds());
  reporter_.audio_processed(audio.seconds());
  reporter_.fingerprint_hashes(landmarks.size());
  auto result = store_.store_song(synthetic_name(seed), digest, landmarks);
  ++(result.inserted ? stored_ : skipped_);
}

void Ingest::log_progress(bool final) {
  if (progress_) {
    progress_(counts(), final);
    if (!final) return;
  }
  auto now = now_ms();
  auto last = last_log_ms_.load();
  if (!final && (now - last < kProgressEveryMs || !last_log_ms_.compare_exchange_strong(last, now)))
    return;
  auto c = counts();
  log_.info(final ? "ingest finished" : "ingest progress", {{"stored", std::to_string(c.stored)},
                                                            {"skipped", std::to_string(c.skipped)},
                                                            {"failed", std::to_string(c.failed)},
                                                            {"total", std::to_string(c.total)}});
}

IngestCounts Ingest::counts() const {
  return {options_.songs, stored_.load(), skipped_.load(), failed_.load()};
}

nlohmann::ordered_json Ingest::stats_json() const {
  auto c = counts();
  return {{"total", c.total}, {"stored", c.stored}, {"skipped", c.skipped}, {"failed", c.failed}};
}

}  // namespace afp::workload
