#pragma once

// One identification, as /identify and `afp_workload identify` run it: decode the upload,
// fingerprint it, look its hashes up, align. Each stage is timed (the service answers the
// times in Server-Timing) and the fingerprinting is reported as a production app would.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "align.h"
#include "faults.h"
#include "fingerprint.h"
#include "reporter.h"
#include "song_store.h"

namespace afp::workload {

inline constexpr double kMaxClipSeconds = 120;

struct StageTimes {  // seconds; 0 for a stage that did not run
  double decode = 0;
  double fingerprint = 0;
  double db = 0;
  double align = 0;
};

struct IdentifyResult {
  std::optional<Match> match;
  std::string song_name;      // of the match
  double offset_seconds = 0;  // where in the song the clip starts
  double audio_seconds = 0;
  std::size_t landmarks = 0;
  int clip_hashes = 0;  // distinct
};

class Identifier {
 public:
  // `faults` may be null (no service, no faults).
  Identifier(SongStore& store, Reporter& reporter, Faults* faults);

  // Fills `stages` as they complete, so a failure still tells how far it got. Throws
  // AudioError (undecodable, or longer than kMaxClipSeconds), DbUnavailable, pg::PgError.
  IdentifyResult identify(std::string_view file_bytes, StageTimes& stages);

 private:
  std::vector<Landmark> timed_fingerprint(const Audio& audio, StageTimes& stages);

  SongStore& store_;
  Reporter& reporter_;
  Faults* faults_;
  FingerprintParams params_;
};

// {"match":true,"song_id":..,"song_name":..,"offset_seconds":..,"aligned":..,
//  "clip_hashes":..,"confidence":..} or {"match":false,"clip_hashes":..}
nlohmann::ordered_json to_json(const IdentifyResult& result);
// "decode;dur=1.2, fingerprint;dur=35.0, db;dur=4.1, align;dur=0.3" (milliseconds)
std::string server_timing(const StageTimes& stages);

}  // namespace afp::workload
