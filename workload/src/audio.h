#pragma once

// Audio as the fingerprinter sees it: mono float samples at one fixed rate. WAV files of
// any rate and channel count are mixed down and resampled on the way in, so a clip and
// the song it was cut from always meet at the same rate.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace afp::workload {

inline constexpr int kSampleRate = 11025;

struct Audio {
  int sample_rate = kSampleRate;
  std::vector<float> samples;  // mono, nominally in [-1, 1]
  double seconds() const { return static_cast<double>(samples.size()) / sample_rate; }
};

// Not audio we can read (not WAV/FLAC/OGG, truncated, empty, no frames).
class AudioError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Decodes a whole file held in memory (libsndfile's virtual I/O: WAV, FLAC, OGG...),
// mixed to mono and resampled to kSampleRate. Throws AudioError with the reason.
Audio decode(std::string_view bytes);
Audio read_file(const std::string& path);
// 16-bit PCM WAV bytes at audio.sample_rate, for uploads and for tests.
std::string encode_wav(const Audio& audio);

// A deterministic synthetic song: a melody of notes with harmonics and envelopes, the same
// samples for the same seed on every machine (own PRNG, no <random> distributions).
Audio synth_song(std::uint64_t seed, double seconds);
// The name a synthetic song is stored under, and back ("synthetic-<seed>").
std::string synthetic_name(std::uint64_t seed);
bool parse_synthetic_name(std::string_view name, std::uint64_t* seed);

// [start, start + length) of `audio`, clamped to its end.
Audio cut(const Audio& audio, double start_seconds, double length_seconds);
// White noise at `snr_db` below the signal's RMS, from a seeded PRNG.
void add_noise(Audio& audio, double snr_db, std::uint64_t seed);

}  // namespace afp::workload
