#pragma once

// Dejavu's offset alignment: a clip matches a song when many of its hashes occur in that
// song at one constant time difference (the clip's start within the song).

#include <cstdint>
#include <optional>
#include <vector>

#include "fingerprint.h"

namespace afp::workload {

// One database hit: a hash of the clip found in a stored song.
struct HashHit {
  std::int32_t song_id;
  std::int32_t song_offset;  // the stored landmark's offset
  std::int32_t clip_offset;  // the clip landmark's offset with the same hash
};

struct AlignOptions {
  // At least this many hits at one (song, difference), and this share of the clip's
  // distinct hashes, for an answer; below, the clip is unknown.
  int min_aligned = 20;
  double min_confidence = 0.05;
};

struct Match {
  std::int32_t song_id = 0;
  std::int32_t offset = 0;  // frames: the clip starts this far into the song
  int aligned = 0;          // hits at that difference
  int clip_hashes = 0;      // distinct hashes of the clip
  double confidence = 0;    // aligned / clip_hashes
};

// The best (song, difference) by hit count (ties: lower song_id, then lower offset), or
// nullopt when it is below the options' limits or there are no hits.
std::optional<Match> align(const std::vector<HashHit>& hits, int clip_hashes,
                           const AlignOptions& options = {});

}  // namespace afp::workload
