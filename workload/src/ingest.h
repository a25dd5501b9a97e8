#pragma once

// Ingest load: synthetic songs (seeds first_seed .. first_seed + songs - 1) fingerprinted
// and stored by `jobs` threads, as a Dejavu ingest of a music library would: a song
// already stored (same file SHA-1) is skipped before it is fingerprinted.

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "log/logger.h"
#include "reporter.h"
#include "song_store.h"

namespace afp::workload {

struct IngestOptions {
  std::uint64_t first_seed = 1;
  int songs = 0;
  double song_seconds = 30;
  int jobs = 2;
};

struct IngestCounts {
  int total = 0;
  int stored = 0;
  int skipped = 0;  // stored before
  int failed = 0;
};

// "songs 120 of 300 (40.0 %): stored 118, skipped 1, failed 1" for a progress line.
std::string ingest_progress_text(const IngestCounts& counts);

class Ingest {
 public:
  Ingest(IngestOptions options, SongStore& store, Reporter& reporter, log::Logger& log);

  // Blocks until every song is stored, skipped or failed, or stop() is called. The first
  // song is stored alone and both tables analyzed, as again at the end: a look-up planned
  // without statistics reads the whole table, so concurrent identifications (and the
  // exporter's AfpFingerprintSeqScans) would see sequential scans during the ingest.
  IngestCounts run();
  // Lets the songs in progress finish; run() then returns. Thread-safe.
  void stop() { stopping_.store(true); }
  IngestCounts counts() const;
  // Called after each song (from the worker threads) and once more with final = true before
  // run() logs "ingest finished"; while one is set, run() logs no periodic "ingest progress"
  // lines of its own. Set before run().
  using ProgressFn = std::function<void(const IngestCounts&, bool final)>;
  void on_progress(ProgressFn fn) { progress_ = std::move(fn); }
  nlohmann::ordered_json stats_json() const;

 private:
  void work(int until);
  void analyze();
  void ingest_song(std::uint64_t seed);
  void log_progress(bool final);

  IngestOptions options_;
  SongStore& store_;
  Reporter& reporter_;
  log::Logger& log_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> next_{0};
  std::atomic<int> stored_{0}, skipped_{0}, failed_{0};
  std::atomic<std::int64_t> last_log_ms_{0};
  ProgressFn progress_;
};

}  // namespace afp::workload
