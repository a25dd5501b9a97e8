#include "audio.h"

#include <sndfile.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <numbers>
#include <numeric>
#include <sstream>
#include <utility>

namespace afp::workload {

namespace {

// ---- libsndfile virtual I/O over memory -------------------------------------------------

// A seekable in-memory file. Reading uses `input`; writing grows `output` (libsndfile
// seeks back to patch the WAV header sizes, so writes may land before the end).
struct MemoryFile {
  std::string_view input;
  std::string output;
  bool writable = false;
  sf_count_t position = 0;

  sf_count_t size() const {
    return static_cast<sf_count_t>(writable ? output.size() : input.size());
  }
  const char* data() const { return writable ? output.data() : input.data(); }
};

MemoryFile& file_of(void* user) {
  return *static_cast<MemoryFile*>(user);
}

sf_count_t memory_length(void* user) {
  return file_of(user).size();
}

sf_count_t memory_seek(sf_count_t offset, int whence, void* user) {
  MemoryFile& file = file_of(user);
  sf_count_t base = whence == SEEK_CUR ? file.position : whence == SEEK_END ? file.size() : 0;
  sf_count_t target = base + offset;
  if (target < 0 || (!file.writable && target > file.size())) return -1;
  file.position = target;
  return target;
}

sf_count_t memory_read(void* out, sf_count_t count, void* user) {
  MemoryFile& file = file_of(user);
  sf_count_t available = std::max<sf_count_t>(0, file.size() - file.position);
  sf_count_t n = std::clamp<sf_count_t>(count, 0, available);
  if (n > 0) std::memcpy(out, file.data() + file.position, static_cast<std::size_t>(n));
  file.position += n;
  return n;
}

sf_count_t memory_write(const void* in, sf_count_t count, void* user) {
  MemoryFile& file = file_of(user);
  if (!file.writable || count < 0) return 0;
  auto end = static_cast<std::size_t>(file.position + count);
  if (end > file.output.size()) file.output.resize(end);
  std::memcpy(file.output.data() + file.position, in, static_cast<std::size_t>(count));
  file.position += count;
  return count;
}

sf_count_t memory_tell(void* user) {
  return file_of(user).position;
}

SF_VIRTUAL_IO memory_io() {
  return SF_VIRTUAL_IO{memory_length, memory_seek, memory_read, memory_write, memory_tell};
}

struct SndfileCloser {
  void operator()(SNDFILE* file) const { sf_close(file); }
};
using SndfilePtr = std::unique_ptr<SNDFILE, SndfileCloser>;

// ---- resampling -----------------------------------------------------------------------

// Beyond these a header is more likely hostile than real, and the resampling kernel of a
// huge rate would be enormous.
constexpr int kMinInputRate = 1000;
constexpr int kMaxInputRate = 384000;

double sinc(double x) {
  if (x == 0) return 1;
  double px = std::numbers::pi * x;
  return std::sin(px) / px;
}

double blackman(double t) {  // t in [-1, 1]
  return 0.42 + 0.5 * std::cos(std::numbers::pi * t) + 0.08 * std::cos(2 * std::numbers::pi * t);
}

// Polyphase windowed-sinc low-pass filter: one row of weights per fractional position of
// an output sample between two input samples. Precomputing the rows keeps sin/cos out of
// the inner loop, which is then a plain dot product.
class PolyphaseFilter {
 public:
  PolyphaseFilter(int in_rate, int out_rate) {
    int common = std::gcd(in_rate, out_rate);
    step_num_ = in_rate / common;
    step_den_ = out_rate / common;
    // Exact for the usual rates (44.1, 48, 22.05, 16, 8 kHz all need <= 441 phases);
    // odd rates round to the nearest of kMaxPhases positions, 1/1024 of a sample at most.
    phases_ = std::min(step_den_, kMaxPhases);
    double cutoff = kCutoff * std::min(1.0, static_cast<double>(out_rate) / in_rate);
    double half_width = kZeroCrossings / cutoff;
    reach_ = static_cast<int>(std::ceil(half_width));
    weights_.resize(static_cast<std::size_t>(phases_) * taps());
    for (int p = 0; p < phases_; ++p)
      fill_row(p, cutoff, half_width);
  }

  int taps() const { return 2 * reach_; }
  int first_tap_offset() const { return 1 - reach_; }
  const float* row(int phase) const { return weights_.data() + phase * taps(); }

  // Output sample n is centred at input position n * step: its first input index and
  // the weight row for its fractional part.
  std::pair<std::int64_t, int> locate(std::int64_t n) const {
    std::int64_t position = n * step_num_;
    std::int64_t base = position / step_den_;
    std::int64_t remainder = position % step_den_;
    auto phase = static_cast<int>((remainder * phases_ + step_den_ / 2) / step_den_);
    if (phase == phases_) phase = 0, ++base;
    return {base + first_tap_offset(), phase};
  }

 private:
  static constexpr double kCutoff = 0.95;  // of the lower Nyquist frequency
  static constexpr double kZeroCrossings = 16;
  static constexpr std::int64_t kMaxPhases = 512;

  // Normalised to sum 1, so a constant stays constant whatever the phase.
  void fill_row(int phase, double cutoff, double half_width) {
    double fraction = static_cast<double>(phase) / static_cast<double>(phases_);
    float* w = weights_.data() + phase * taps();
    double sum = 0;
    for (int j = 0; j < taps(); ++j) {
      double x = (j + first_tap_offset()) - fraction;  // input samples from the centre
      double value =
          std::abs(x) < half_width ? cutoff * sinc(cutoff * x) * blackman(x / half_width) : 0;
      w[j] = static_cast<float>(value);
      sum += value;
    }
    for (int j = 0; j < taps(); ++j)
      w[j] = static_cast<float>(w[j] / sum);
  }

  std::int64_t step_num_ = 1, step_den_ = 1;
  std::int64_t phases_ = 1;
  int reach_ = 1;
  std::vector<float> weights_;
};

// Near the ends part of the kernel falls outside the input; the weights that remain are
// renormalised rather than treating the outside as silence.
float edge_sample(const std::vector<float>& in, std::int64_t first, const float* w, int taps) {
  double sum = 0, weights = 0;
  for (int j = 0; j < taps; ++j) {
    std::int64_t k = first + j;
    if (k < 0 || k >= static_cast<std::int64_t>(in.size())) continue;
    sum += static_cast<double>(w[j]) * in[static_cast<std::size_t>(k)];
    weights += w[j];
  }
  return weights > 0 ? static_cast<float>(sum / weights) : 0.0f;
}

// Four independent sums: one running sum would make every tap wait for the previous
// addition.
float dot(const float* w, const float* x, int taps) {
  float sums[4] = {0, 0, 0, 0};
  int j = 0;
  for (; j + 4 <= taps; j += 4) {
    for (int lane = 0; lane < 4; ++lane) {
      sums[lane] += w[j + lane] * x[j + lane];
    }
  }
  for (; j < taps; ++j) {
    sums[0] += w[j] * x[j];
  }
  return (sums[0] + sums[1]) + (sums[2] + sums[3]);
}

// Band-limited resampling by windowed-sinc interpolation (Blackman window, 16 zero
// crossings, cut-off at 95 % of the lower Nyquist frequency), so a 44.1 kHz file does not
// alias its 5.5-22 kHz content into the fingerprinted band.
std::vector<float> resample(const std::vector<float>& in, int in_rate, int out_rate) {
  if (in_rate == out_rate) return in;
  PolyphaseFilter filter(in_rate, out_rate);
  const int taps = filter.taps();
  const auto size = static_cast<std::int64_t>(in.size());
  std::vector<float> out(static_cast<std::size_t>(size * out_rate / in_rate));
  for (std::size_t n = 0; n < out.size(); ++n) {
    auto [first, phase] = filter.locate(static_cast<std::int64_t>(n));
    const float* w = filter.row(phase);
    if (first < 0 || first + taps > size) {
      out[n] = edge_sample(in, first, w, taps);
      continue;
    }
    out[n] = dot(w, in.data() + first, taps);
  }
  return out;
}

// ---- decoding -------------------------------------------------------------------------

[[noreturn]] void fail(const std::string& why) {
  throw AudioError("cannot decode audio: " + why);
}

void check_format(const SF_INFO& info) {
  if (info.channels < 1) fail("no channels");
  if (info.samplerate < kMinInputRate || info.samplerate > kMaxInputRate) {
    fail("unsupported sample rate " + std::to_string(info.samplerate) + " Hz (expected " +
         std::to_string(kMinInputRate) + ".." + std::to_string(kMaxInputRate) + ")");
  }
}

// Reads in chunks rather than trusting the header's frame count, which a truncated or
// hostile file can overstate.
std::vector<float> read_mono(SNDFILE* file, int channels) {
  constexpr sf_count_t kChunkFrames = 4096;
  std::vector<float> interleaved(static_cast<std::size_t>(kChunkFrames * channels));
  std::vector<float> mono;
  for (;;) {
    sf_count_t got = sf_readf_float(file, interleaved.data(), kChunkFrames);
    if (got <= 0) break;
    for (sf_count_t f = 0; f < got; ++f) {
      const float* frame = interleaved.data() + f * channels;
      double sum = 0;
      for (int c = 0; c < channels; ++c)
        sum += frame[c];
      mono.push_back(static_cast<float>(sum / channels));
    }
  }
  return mono;
}

// ---- deterministic randomness -------------------------------------------------------------

// splitmix64: tiny, well mixed, and the same sequence everywhere.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // [0, 1) from the top 53 bits: exact in a double, no library distribution involved.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // [0, n) for small n; the modulo bias is irrelevant for music.
  int below(int n) { return static_cast<int>(next() % static_cast<std::uint64_t>(n)); }

 private:
  std::uint64_t state_;
};

// ---- synthesis ------------------------------------------------------------------------

constexpr double kLowestFundamental = 150;    // Hz
constexpr double kHighestFundamental = 4000;  // Hz
constexpr double kHighestPartial = 5000;      // Hz: harmonics above (towards Nyquist) are left out
constexpr double kNoiseAmplitude = 0.01;      // before normalisation; notes peak near 1
constexpr double kPeak = 0.8;
constexpr double kMaxSynthSeconds = 600;  // ten minutes: ~80 MB while rendering

struct Tone {
  double frequency;
  double amplitude;
  double phase;
};

struct Note {
  double start;     // seconds
  double duration;  // seconds
  double attack;    // seconds
  std::vector<Tone> tones;
};

// 1-3 partials, each with its harmonics up to kHighestPartial. Pitches are continuous
// (log-uniform) rather than on a scale: shared pitches across songs would give every
// song the same harmonic-pair hashes and blur the line between known and unknown clips.
Note random_note(SplitMix64& rng, double start) {
  Note note{start, rng.uniform(0.1, 0.4), rng.uniform(0.005, 0.02), {}};
  double loudness = rng.uniform(0.4, 1.0);
  int partials = 1 + rng.below(3);
  for (int p = 0; p < partials; ++p) {
    double fundamental =
        kLowestFundamental * std::pow(kHighestFundamental / kLowestFundamental, rng.uniform());
    for (int harmonic = 1; harmonic <= 3 && harmonic * fundamental <= kHighestPartial; ++harmonic) {
      note.tones.push_back(
          {harmonic * fundamental, loudness / harmonic, rng.uniform(0, 2 * std::numbers::pi)});
    }
  }
  return note;
}

// Linear attack, exponential decay, and a short linear release so notes do not click.
double envelope(const Note& note, double t) {
  constexpr double kRelease = 0.01;
  double attack = std::min(1.0, t / note.attack);
  double decay = std::exp(-3.0 * t / note.duration);
  double release = std::min(1.0, (note.duration - t) / kRelease);
  return attack * decay * std::max(0.0, release);
}

void render(const Note& note, int rate, std::vector<double>& out) {
  auto first = static_cast<std::size_t>(std::llround(note.start * rate));
  auto length = static_cast<std::size_t>(std::llround(note.duration * rate));
  std::size_t end = std::min(out.size(), first + length);
  for (std::size_t i = first; i < end; ++i) {
    double t = static_cast<double>(i - first) / rate;
    double value = 0;
    for (const Tone& tone : note.tones) {
      value += tone.amplitude * std::sin(2 * std::numbers::pi * tone.frequency * t + tone.phase);
    }
    out[i] += envelope(note, t) * value;
  }
}

std::vector<float> normalised(const std::vector<double>& mix, double peak) {
  double loudest = 0;
  for (double v : mix)
    loudest = std::max(loudest, std::abs(v));
  double gain = loudest > 0 ? peak / loudest : 0;
  std::vector<float> out(mix.size());
  std::transform(mix.begin(), mix.end(), out.begin(),
                 [gain](double v) { return static_cast<float>(v * gain); });
  return out;
}

void check_seconds(double seconds, const char* what) {
  if (!std::isfinite(seconds) || seconds < 0) {
    throw std::invalid_argument(std::string(what) + " must be a finite, non-negative number");
  }
}

std::int16_t to_pcm16(float sample) {
  if (!std::isfinite(sample)) return 0;
  double scaled = std::round(static_cast<double>(sample) * 32768.0);
  return static_cast<std::int16_t>(std::clamp(scaled, -32768.0, 32767.0));
}

constexpr std::string_view kSyntheticPrefix = "synthetic-";

}  // namespace

Audio decode(std::string_view bytes) {
  if (bytes.empty()) fail("empty input");
  MemoryFile file{bytes, {}, false, 0};
  SF_VIRTUAL_IO io = memory_io();
  SF_INFO info{};
  SndfilePtr handle(sf_open_virtual(&io, SFM_READ, &info, &file));
  if (!handle) fail(std::string("not a supported audio file (") + sf_strerror(nullptr) + ")");
  check_format(info);
  std::vector<float> mono = read_mono(handle.get(), info.channels);
  if (mono.empty()) fail("no audio frames");
  Audio audio;
  audio.samples = resample(mono, info.samplerate, kSampleRate);
  if (audio.samples.empty()) fail("too short to resample");
  return audio;
}

Audio read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw AudioError("cannot open audio file \"" + path + "\"");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) throw AudioError("cannot read audio file \"" + path + "\"");
  try {
    return decode(bytes.view());
  } catch (const AudioError& e) {
    throw AudioError("\"" + path + "\": " + e.what());
  }
}

// Converts to 16 bits here rather than in libsndfile, whose float->short scale (32767)
// differs from its short->float scale (1/32768): this way a round trip is within half a
// step.
std::string encode_wav(const Audio& audio) {
  if (audio.sample_rate <= 0) throw std::invalid_argument("encode_wav: sample rate must be > 0");
  MemoryFile file{{}, {}, true, 0};
  SF_VIRTUAL_IO io = memory_io();
  SF_INFO info{};
  info.samplerate = audio.sample_rate;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  {
    SndfilePtr handle(sf_open_virtual(&io, SFM_WRITE, &info, &file));
    if (!handle) {
      throw AudioError(std::string("cannot encode WAV: ") + sf_strerror(nullptr));
    }
    std::vector<short> pcm(audio.samples.size());
    std::transform(audio.samples.begin(), audio.samples.end(), pcm.begin(), to_pcm16);
    auto frames = static_cast<sf_count_t>(pcm.size());
    if (sf_writef_short(handle.get(), pcm.data(), frames) != frames) {
      throw AudioError(std::string("cannot encode WAV: ") + sf_strerror(handle.get()));
    }
  }  // sf_close writes the final header sizes
  return std::move(file.output);
}

Audio synth_song(std::uint64_t seed, double seconds) {
  check_seconds(seconds, "synth_song: length");
  if (seconds > kMaxSynthSeconds) {
    throw std::invalid_argument("synth_song: length must be at most " +
                                std::to_string(static_cast<int>(kMaxSynthSeconds)) + " s");
  }
  SplitMix64 rng(seed);
  std::vector<double> mix(static_cast<std::size_t>(std::llround(seconds * kSampleRate)));
  // Each note starts 30-60 % into the previous one, so two or three sound at once: dense
  // enough for ~20 peaks per second.
  for (double start = 0; start < seconds;) {
    Note note = random_note(rng, start);
    render(note, kSampleRate, mix);
    start += note.duration * rng.uniform(0.3, 0.6);
  }
  for (double& v : mix)
    v += kNoiseAmplitude * rng.uniform(-1, 1);
  Audio audio;
  audio.samples = normalised(mix, kPeak);
  return audio;
}

std::string synthetic_name(std::uint64_t seed) {
  return std::string(kSyntheticPrefix) + std::to_string(seed);
}

// Only the canonical spelling: no sign, no leading zeros, no spaces, no overflow, so each
// seed has exactly one name.
bool parse_synthetic_name(std::string_view name, std::uint64_t* seed) {
  if (!name.starts_with(kSyntheticPrefix)) return false;
  std::string_view digits = name.substr(kSyntheticPrefix.size());
  if (digits.empty() || (digits.size() > 1 && digits.front() == '0')) return false;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) return false;
  if (seed != nullptr) *seed = value;
  return true;
}

Audio cut(const Audio& audio, double start_seconds, double length_seconds) {
  check_seconds(start_seconds, "cut: start");
  check_seconds(length_seconds, "cut: length");
  if (audio.sample_rate <= 0) throw std::invalid_argument("cut: sample rate must be > 0");
  std::size_t size = audio.samples.size();
  auto index = [&](double seconds) {
    double position = std::round(seconds * audio.sample_rate);
    return position >= static_cast<double>(size) ? size : static_cast<std::size_t>(position);
  };
  std::size_t first = index(start_seconds);
  std::size_t last = std::min(size, first + index(length_seconds));
  Audio out;
  out.sample_rate = audio.sample_rate;
  out.samples.assign(audio.samples.begin() + static_cast<std::ptrdiff_t>(first),
                     audio.samples.begin() + static_cast<std::ptrdiff_t>(last));
  return out;
}

// Uniform white noise (rms = amplitude / sqrt(3)). Silence stays silent: there is no
// signal level to be below.
void add_noise(Audio& audio, double snr_db, std::uint64_t seed) {
  if (!std::isfinite(snr_db)) throw std::invalid_argument("add_noise: SNR must be finite");
  if (audio.samples.empty()) return;
  double energy = 0;
  for (float v : audio.samples)
    energy += static_cast<double>(v) * v;
  double rms = std::sqrt(energy / static_cast<double>(audio.samples.size()));
  double amplitude = rms * std::pow(10.0, -snr_db / 20) * std::sqrt(3.0);
  SplitMix64 rng(seed);
  for (float& v : audio.samples) {
    v = static_cast<float>(v + amplitude * rng.uniform(-1, 1));
  }
}

}  // namespace afp::workload
