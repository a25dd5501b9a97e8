#pragma once

// Dejavu's landmark fingerprints: a spectrogram, its local maxima ("peaks"), and pairs of
// nearby peaks hashed as SHA-1("f1|f2|dt") cut to 10 bytes, each stored with the time
// offset (in spectrogram frames) of its first peak.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "audio.h"

namespace afp::workload {

struct FingerprintParams {
  int window = 1024;             // FFT size, samples
  int hop = 512;                 // frame step, samples (50 % overlap)
  int neighborhood = 8;          // a peak is the maximum of ±neighborhood bins and frames
  float min_amplitude_db = 10;   // and at least this loud
  int fan_value = 5;             // pairs each peak with up to this many following peaks
  int min_dt = 0, max_dt = 200;  // frames between the two peaks of a pair
};

using Hash = std::array<std::uint8_t, 10>;

struct Landmark {
  Hash hash;
  std::int32_t offset;  // frame of the first peak
  bool operator==(const Landmark&) const = default;
};

struct Peak {
  std::int32_t frame;
  std::int32_t bin;
};

// Log-magnitude spectrogram, frame-major: value(frame, bin) = out[frame * bins + bin],
// bins = window / 2 + 1. kissfft's real FFT, Hann window.
std::vector<float> spectrogram(const Audio& audio, const FingerprintParams& params, int* frames);
std::vector<Peak> find_peaks(const std::vector<float>& spec, int frames, int bins,
                             const FingerprintParams& params);
// Peaks -> landmarks, in peak order (sorted by frame, then bin). Deterministic.
std::vector<Landmark> landmarks(const std::vector<Peak>& peaks, const FingerprintParams& params);
// All three steps.
std::vector<Landmark> fingerprint(const Audio& audio, const FingerprintParams& params = {});

// Seconds per offset unit (frame).
double offset_seconds(const FingerprintParams& params, int sample_rate = kSampleRate);

// "\\x0123..." as PostgreSQL prints and accepts bytea, and back (false if malformed).
std::string to_bytea_hex(const Hash& hash);
bool from_bytea_hex(std::string_view text, Hash* hash);

}  // namespace afp::workload
