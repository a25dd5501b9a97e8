#include "identify.h"

#include <cmath>
#include <cstdio>
#include <thread>

#include "stopwatch.h"

namespace afp::workload {

Identifier::Identifier(SongStore& store, Reporter& reporter, Faults* faults)
    : store_(store), reporter_(reporter), faults_(faults) {}

std::vector<Landmark> Identifier::timed_fingerprint(const Audio& audio, StageTimes& stages) {
  Stopwatch watch;
  auto landmarks = fingerprint(audio, params_);
  double least = faults_ ? faults_->fingerprint_seconds() : 0;
  if (least > watch.seconds()) {
    // Sleeping rather than computing: the stage looks slow to its callers and the metrics,
    // while the machine stays responsive for everything else. A fixed time, not a factor
    // of the real one, so the fault means the same on a fast machine and a loaded one.
    std::this_thread::sleep_for(std::chrono::duration<double>(least - watch.seconds()));
  }
  stages.fingerprint = watch.seconds();
  reporter_.fingerprint_generation(stages.fingerprint);
  reporter_.audio_processed(audio.seconds());
  reporter_.fingerprint_hashes(landmarks.size());
  return landmarks;
}

IdentifyResult Identifier::identify(std::string_view file_bytes, StageTimes& stages) {
  Stopwatch decode_watch;
  Audio audio = decode(file_bytes);
  stages.decode = decode_watch.seconds();
  IdentifyResult result;
  result.audio_seconds = audio.seconds();
  if (audio.seconds() > kMaxClipSeconds) {
    char text[96];
    std::snprintf(text, sizeof text, "the clip is %.1f s long; at most %.0f s are identified",
                  audio.seconds(), kMaxClipSeconds);
    throw AudioError(text);
  }
  auto landmarks = timed_fingerprint(audio, stages);
  result.landmarks = landmarks.size();

  Stopwatch db_watch;
  auto found = store_.lookup(landmarks);
  stages.db = db_watch.seconds();
  result.clip_hashes = found.distinct_hashes;

  Stopwatch align_watch;
  result.match = align(found.hits, found.distinct_hashes);
  stages.align = align_watch.seconds();
  if (!result.match) return result;

  Stopwatch name_watch;
  result.song_name = store_.song_name(result.match->song_id).value_or("");
  stages.db += name_watch.seconds();
  result.offset_seconds = result.match->offset * offset_seconds(params_);
  return result;
}

nlohmann::ordered_json to_json(const IdentifyResult& r) {
  if (!r.match) return {{"match", false}, {"clip_hashes", r.clip_hashes}};
  // Hundredths of a second: finer than a frame (46 ms) says nothing.
  double offset = std::round(r.offset_seconds * 100) / 100;
  return {{"match", true},
          {"song_id", r.match->song_id},
          {"song_name", r.song_name},
          {"offset_seconds", offset},
          {"aligned", r.match->aligned},
          {"clip_hashes", r.match->clip_hashes},
          {"confidence", r.match->confidence}};
}

std::string server_timing(const StageTimes& s) {
  char text[160];
  std::snprintf(text, sizeof text,
                "decode;dur=%.1f, fingerprint;dur=%.1f, db;dur=%.1f, align;dur=%.1f",
                s.decode * 1000, s.fingerprint * 1000, s.db * 1000, s.align * 1000);
  return text;
}

}  // namespace afp::workload
