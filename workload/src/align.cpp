#include "align.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <unordered_map>

namespace afp::workload {

namespace {

// (song, difference) packed in one integer: the song in the high half, the difference
// (which fits in 32 bits; see below) in the low half.
std::uint64_t key_of(std::int32_t song_id, std::int32_t difference) {
  return static_cast<std::uint64_t>(static_cast<std::uint32_t>(song_id)) << 32 |
         static_cast<std::uint32_t>(difference);
}

struct Candidate {
  std::int32_t song_id;
  std::int32_t offset;
  int count;
};

Candidate candidate_of(std::uint64_t key, int count) {
  return {static_cast<std::int32_t>(static_cast<std::uint32_t>(key >> 32)),
          static_cast<std::int32_t>(static_cast<std::uint32_t>(key & 0xffffffffu)), count};
}

// More hits wins; then the lower song id, then the earlier offset, so the answer does not
// depend on the hash map's iteration order.
bool better(const Candidate& a, const Candidate& b) {
  if (a.count != b.count) return a.count > b.count;
  if (a.song_id != b.song_id) return a.song_id < b.song_id;
  return a.offset < b.offset;
}

}  // namespace

std::optional<Match> align(const std::vector<HashHit>& hits, int clip_hashes,
                           const AlignOptions& options) {
  if (clip_hashes < 0) throw std::invalid_argument("align: clip_hashes must be >= 0");
  if (hits.empty() || clip_hashes == 0) return std::nullopt;

  std::unordered_map<std::uint64_t, int> counts;
  counts.reserve(hits.size());
  for (const HashHit& hit : hits) {
    // A difference outside int32 cannot be a real position in a song: skip it rather
    // than let it wrap onto a genuine one.
    std::int64_t difference = std::int64_t{hit.song_offset} - hit.clip_offset;
    if (difference < std::numeric_limits<std::int32_t>::min() ||
        difference > std::numeric_limits<std::int32_t>::max()) {
      continue;
    }
    ++counts[key_of(hit.song_id, static_cast<std::int32_t>(difference))];
  }
  if (counts.empty()) return std::nullopt;

  Candidate best = candidate_of(counts.begin()->first, counts.begin()->second);
  for (const auto& [key, count] : counts) {
    Candidate c = candidate_of(key, count);
    if (better(c, best)) best = c;
  }

  Match match;
  match.song_id = best.song_id;
  match.offset = best.offset;
  match.aligned = best.count;
  match.clip_hashes = clip_hashes;
  // A clip hash repeated at several clip offsets can align more than once; a share above
  // one would mean nothing, so it is capped.
  match.confidence = std::min(1.0, static_cast<double>(best.count) / clip_hashes);
  if (match.aligned < options.min_aligned || match.confidence < options.min_confidence) {
    return std::nullopt;
  }
  return match;
}

}  // namespace afp::workload
