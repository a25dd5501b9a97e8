#include "load.h"

#include <cmath>

#include "audio.h"
#include "number_text.h"

namespace afp::workload {

namespace {

using Clock = std::chrono::steady_clock;

constexpr double kNoiseSnrDb = 20;
constexpr auto kSongListAge = std::chrono::seconds(10);  // new songs arrive while ingesting
constexpr auto kUploadTimeout = std::chrono::seconds(60);

double uniform(std::mt19937_64& rng, double low, double high) {
  return std::uniform_real_distribution<double>(low, high)(rng);
}

}  // namespace

LoadGenerator::LoadGenerator(LoadOptions options, SongStore& store, log::Logger& log)
    : options_(std::move(options)), store_(store), log_(log) {}

LoadGenerator::~LoadGenerator() {
  stop();
}

void LoadGenerator::start(std::string identify_url) {
  if (options_.rate <= 0 || scheduler_.joinable()) return;
  identify_url_ = std::move(identify_url);
  for (int i = 0; i < std::max(1, options_.concurrency); ++i)
    workers_.emplace_back(&LoadGenerator::work, this,
                          options_.seed * 1000 + static_cast<std::uint64_t>(i));
  scheduler_ = std::thread(&LoadGenerator::schedule, this);
  log_.info("identify load started", {{"url", identify_url_},
                                      {"rate", number_text(options_.rate)},
                                      {"concurrency", std::to_string(options_.concurrency)},
                                      {"unknown_ratio", number_text(options_.unknown_ratio)},
                                      {"clip_seconds", number_text(options_.clip_seconds)}});
}

void LoadGenerator::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (auto& w : workers_)
    w.join();
  workers_.clear();
}

void LoadGenerator::schedule() {
  auto period =
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(1 / options_.rate));
  auto next = Clock::now();
  std::unique_lock lock(mutex_);
  for (;;) {
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
    auto late = Clock::now() - next;
    if (late >= period) {  // slots that passed while we could not run
      auto missed = late / period;
      counters_.skipped += static_cast<std::uint64_t>(missed);
      next += missed * period;
    }
    if (waiting_slots_ + in_flight_ < options_.concurrency) {
      ++waiting_slots_;
      wake_.notify_all();
    } else {
      ++counters_.skipped;
    }
    next += period;
  }
}

void LoadGenerator::work(std::uint64_t worker_seed) {
  std::mt19937_64 rng(worker_seed);
  std::unique_ptr<HttpClient> client;
  try {
    client = std::make_unique<HttpClient>();
  } catch (const std::exception& e) {
    log_.error("identify load: no HTTP client", {{"err", e.what()}});
    return;
  }
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [this] { return stopping_ || waiting_slots_ > 0; });
    if (stopping_) return;
    --waiting_slots_;
    ++in_flight_;
    lock.unlock();
    try {
      upload_one(*client, rng);
    } catch (const std::exception& e) {  // a thread must not let one escape
      log_.warn("identify load: upload failed", {{"err", e.what()}});
      std::lock_guard count_lock(mutex_);
      ++counters_.errors;
    }
    lock.lock();
    --in_flight_;
  }
}

std::vector<LoadGenerator::Song> LoadGenerator::known_songs() {
  std::lock_guard lock(songs_mutex_);
  if (!songs_.empty() && Clock::now() - songs_loaded_ < kSongListAge) return songs_;
  try {
    std::vector<Song> songs;
    for (const auto& stored : store_.fingerprinted_songs()) {
      std::uint64_t seed = 0;
      if (parse_synthetic_name(stored.name, &seed) && seed < kFirstUnknownSeed) {
        songs.push_back({stored.id, seed});
      }
    }
    songs_ = std::move(songs);
    songs_loaded_ = Clock::now();
  } catch (const std::exception& e) {  // the last list stays good enough
    log_.debug("identify load: cannot list the songs", {{"err", e.what()}});
  }
  return songs_;
}

void LoadGenerator::upload_one(HttpClient& client, std::mt19937_64& rng) {
  auto songs = known_songs();
  bool known = !songs.empty() && uniform(rng, 0, 1) >= options_.unknown_ratio;
  Song song{0, kFirstUnknownSeed + rng() % 1'000'000'000'000ull};
  if (known) song = songs[rng() % songs.size()];
  Audio audio = synth_song(song.seed, options_.song_seconds);
  double latest_start = std::max(0.0, options_.song_seconds - options_.clip_seconds);
  Audio clip =
      cut(audio, latest_start > 0 ? uniform(rng, 0, latest_start) : 0.0, options_.clip_seconds);
  add_noise(clip, kNoiseSnrDb, rng());
  std::string wav = encode_wav(clip);
  auto reply = client.send({identify_url_,
                            "POST",
                            {"Content-Type: audio/wav"},
                            wav,
                            std::chrono::duration_cast<std::chrono::milliseconds>(kUploadTimeout)});
  std::lock_guard lock(mutex_);
  ++counters_.sent;
  if (!known) ++counters_.unknown;
  if (reply.status != 200) {
    ++counters_.errors;
    std::string why =
        reply.answered() ? "HTTP status " + std::to_string(reply.status) : reply.error;
    if (why != last_error_) log_.debug("identify load: an upload failed", {{"err", why}});
    last_error_ = why;
    return;
  }
  auto answer = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (!answer.is_object() || !answer.contains("match")) {
    ++counters_.errors;
    return;
  }
  if (!answer.value("match", false)) {
    ++counters_.no_match;
  } else if (known && answer.value("song_id", 0) == song.id) {
    ++counters_.correct;
  } else {
    ++counters_.wrong;
  }
}

LoadCounters LoadGenerator::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

nlohmann::ordered_json LoadGenerator::stats_json() const {
  auto c = counters();
  return {{"sent", c.sent},         {"correct", c.correct}, {"wrong", c.wrong},
          {"no_match", c.no_match}, {"errors", c.errors},   {"skipped", c.skipped},
          {"unknown", c.unknown}};
}

}  // namespace afp::workload
