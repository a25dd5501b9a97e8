#pragma once

// The identify load: an open-loop schedule of `rate` uploads a second to the service's own
// /identify over HTTP, at most `concurrency` in flight. A slot that comes while all are
// busy, or that the scheduler is too late for, is skipped, never made up in a burst (a
// burst after a stall would be load the real users do not send). Each upload is a noisy
// clip (20 dB SNR) of a stored synthetic song, or of an unknown one (seed >= 1,000,000)
// with probability unknown_ratio; the answers are scored.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "http_client.h"
#include "log/logger.h"
#include "song_store.h"

namespace afp::workload {

inline constexpr std::uint64_t kFirstUnknownSeed = 1'000'000;

struct LoadOptions {
  double rate = 2;  // uploads per second
  int concurrency = 4;
  double unknown_ratio = 0.2;
  double clip_seconds = 5;
  double song_seconds = 30;  // the stored songs' length (as ingested)
  std::uint64_t seed = 1;    // of the clip choices
};

struct LoadCounters {
  std::uint64_t sent = 0;
  std::uint64_t correct = 0;   // a known clip identified as its song
  std::uint64_t wrong = 0;     // identified as another song (or an unknown clip matched)
  std::uint64_t no_match = 0;  // answered "match": false
  std::uint64_t errors = 0;    // no answer, or not 200
  std::uint64_t skipped = 0;   // slots skipped: all busy, or the schedule was late
  std::uint64_t unknown = 0;   // uploads of unknown clips (counted in the above too)
};

class LoadGenerator {
 public:
  LoadGenerator(LoadOptions options, SongStore& store, log::Logger& log);
  ~LoadGenerator();
  LoadGenerator(const LoadGenerator&) = delete;
  LoadGenerator& operator=(const LoadGenerator&) = delete;

  // `identify_url`: http://127.0.0.1:PORT/identify. Nothing happens at rate 0.
  void start(std::string identify_url);
  // Ends the schedule and waits for the uploads in flight. Idempotent.
  void stop();
  LoadCounters counters() const;
  nlohmann::ordered_json stats_json() const;

 private:
  struct Song {
    std::int32_t id;
    std::uint64_t seed;
  };
  void schedule();
  void work(std::uint64_t worker_seed);
  void upload_one(HttpClient& client, std::mt19937_64& rng);
  std::vector<Song> known_songs();

  LoadOptions options_;
  std::string identify_url_;
  SongStore& store_;
  log::Logger& log_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  int waiting_slots_ = 0;  // slots handed to workers, not taken yet
  int in_flight_ = 0;
  LoadCounters counters_;
  std::mutex songs_mutex_;  // refreshing the list takes a query: not under mutex_
  std::vector<Song> songs_;
  std::chrono::steady_clock::time_point songs_loaded_{};
  std::string last_error_;
  std::thread scheduler_;
  std::vector<std::thread> workers_;
};

}  // namespace afp::workload
