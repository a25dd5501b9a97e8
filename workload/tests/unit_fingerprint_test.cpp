// The fingerprinting core without a database: audio decoding and synthesis, spectrogram
// peaks, landmark hashes, and offset alignment identifying noisy clips of synthetic songs.
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <numbers>
#include <optional>
#include <set>
#include <sstream>

#include "align.h"
#include "audio.h"
#include "fingerprint.h"

using namespace afp::workload;

namespace {

constexpr double kSongSeconds = 30;
constexpr int kLibrarySongs = 20;

// What the service's fingerprints table holds, in memory: hash -> (song, offset).
struct Library {
  std::map<Hash, std::vector<std::pair<std::int32_t, std::int32_t>>> entries;
  std::vector<Audio> songs;  // songs[i] has seed and song id i + 1
};

const Library& library() {
  static const Library built = [] {
    Library lib;
    for (int id = 1; id <= kLibrarySongs; ++id) {
      lib.songs.push_back(synth_song(static_cast<std::uint64_t>(id), kSongSeconds));
      for (const Landmark& l : fingerprint(lib.songs.back())) {
        lib.entries[l.hash].emplace_back(id, l.offset);
      }
    }
    return lib;
  }();
  return built;
}

// The service's lookup: every clip landmark against every stored landmark of its hash.
std::optional<Match> identify(const Audio& clip) {
  std::vector<Landmark> landmarks = fingerprint(clip);
  std::set<Hash> distinct;
  std::vector<HashHit> hits;
  for (const Landmark& l : landmarks) {
    distinct.insert(l.hash);
    auto found = library().entries.find(l.hash);
    if (found == library().entries.end()) continue;
    for (auto [song, offset] : found->second)
      hits.push_back({song, offset, l.offset});
  }
  return align(hits, static_cast<int>(distinct.size()));
}

Audio noisy_clip(const Audio& song, double start, double length, std::uint64_t noise_seed) {
  Audio clip = cut(song, start, length);
  add_noise(clip, 20, noise_seed);
  return clip;
}

double rms(const std::vector<float>& samples) {
  double energy = 0;
  for (float v : samples)
    energy += static_cast<double>(v) * v;
  return std::sqrt(energy / static_cast<double>(samples.size()));
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// A temporary file removed on scope exit.
struct TempPath {
  std::string path = (std::filesystem::temp_directory_path() /
                      ("afp_workload_test_" + std::to_string(::getpid()) + ".wav"))
                         .string();
  ~TempPath() { std::filesystem::remove(path); }
};

// Writes `frames` of 16-bit stereo at `rate` with libsndfile itself (not our encoder).
void write_stereo_wav(const std::string& path, int rate, std::size_t frames, double left_hz,
                      double left_amp, double right_hz, double right_amp) {
  SF_INFO info{};
  info.samplerate = rate;
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open(path.c_str(), SFM_WRITE, &info);
  REQUIRE(file != nullptr);
  std::vector<float> interleaved(2 * frames);
  for (std::size_t i = 0; i < frames; ++i) {
    double t = static_cast<double>(i) / rate;
    interleaved[2 * i] =
        static_cast<float>(left_amp * std::sin(2 * std::numbers::pi * left_hz * t));
    interleaved[2 * i + 1] =
        static_cast<float>(right_amp * std::sin(2 * std::numbers::pi * right_hz * t));
  }
  REQUIRE(sf_writef_float(file, interleaved.data(), static_cast<sf_count_t>(frames)) ==
          static_cast<sf_count_t>(frames));
  REQUIRE(sf_close(file) == 0);
}

// The largest deviation from amplitude * sin(2 pi hz t), away from the edges where the
// resampling kernel is cut off.
double worst_tone_error(const Audio& audio, double hz, double amplitude) {
  double worst = 0;
  for (std::size_t n = 200; n + 200 < audio.samples.size(); ++n) {
    double t = static_cast<double>(n) / audio.sample_rate;
    double expected = amplitude * std::sin(2 * std::numbers::pi * hz * t);
    worst = std::max(worst, std::abs(audio.samples[n] - expected));
  }
  return worst;
}

Hash hash_from_hex(std::string_view hex) {
  Hash h{};
  REQUIRE(from_bytea_hex(std::string("\\x") + std::string(hex), &h));
  return h;
}

}  // namespace

// ---- synthesis and audio helpers --------------------------------------------------------

TEST_CASE("synth_song is deterministic per seed and normalised") {
  Audio a = synth_song(42, 5);
  Audio b = synth_song(42, 5);
  Audio c = synth_song(43, 5);
  CHECK(a.sample_rate == kSampleRate);
  CHECK(a.samples.size() == static_cast<std::size_t>(5 * kSampleRate));
  CHECK(a.samples == b.samples);
  REQUIRE(c.samples.size() == a.samples.size());
  CHECK(a.samples != c.samples);
  float peak = 0;
  for (float v : a.samples)
    peak = std::max(peak, std::abs(v));
  CHECK(peak == Approx(0.8).margin(1e-6));
  CHECK(synth_song(1, 0).samples.empty());
  CHECK_THROWS_AS(synth_song(1, -1), std::invalid_argument);
  CHECK_THROWS_AS(synth_song(1, 1e9), std::invalid_argument);
}

TEST_CASE("synthetic names round trip and parse strictly") {
  std::uint64_t seed = 0;
  CHECK(synthetic_name(42) == "synthetic-42");
  REQUIRE(parse_synthetic_name(synthetic_name(42), &seed));
  CHECK(seed == 42);
  REQUIRE(parse_synthetic_name("synthetic-0", &seed));
  CHECK(seed == 0);
  REQUIRE(parse_synthetic_name("synthetic-18446744073709551615", &seed));
  CHECK(seed == UINT64_MAX);

  seed = 7;
  for (std::string_view bad :
       {"", "synthetic-", "synthetic", "synthetic-042", "synthetic-+1", "synthetic--1",
        "synthetic-1 ", " synthetic-1", "Synthetic-1", "synthetic-1a", "synthetic-0x1",
        "synthetic-18446744073709551616", "song-1"}) {
    INFO("name: \"" << bad << "\"");
    CHECK_FALSE(parse_synthetic_name(bad, &seed));
  }
  CHECK(seed == 7);  // untouched on failure
}

TEST_CASE("cut takes a window and clamps it to the end") {
  Audio song;
  for (int i = 0; i < 100; ++i)
    song.samples.push_back(static_cast<float>(i));
  song.sample_rate = 10;
  Audio middle = cut(song, 2.0, 3.0);
  REQUIRE(middle.samples.size() == 30);
  CHECK(middle.samples.front() == 20);
  CHECK(middle.samples.back() == 49);
  CHECK(cut(song, 8.0, 5.0).samples.size() == 20);
  CHECK(cut(song, 50.0, 5.0).samples.empty());
  CHECK_THROWS_AS(cut(song, -1.0, 1.0), std::invalid_argument);
  CHECK_THROWS_AS(cut(song, 0.0, std::nan("")), std::invalid_argument);
}

TEST_CASE("add_noise hits the requested SNR, deterministically, and leaves silence alone") {
  Audio clean = synth_song(5, 3);
  Audio noisy = clean;
  add_noise(noisy, 20, 99);
  std::vector<float> noise(clean.samples.size());
  for (std::size_t i = 0; i < noise.size(); ++i)
    noise[i] = noisy.samples[i] - clean.samples[i];
  CHECK(20 * std::log10(rms(clean.samples) / rms(noise)) == Approx(20).margin(0.2));

  Audio again = clean;
  add_noise(again, 20, 99);
  CHECK(again.samples == noisy.samples);

  Audio silence;
  silence.samples.assign(1000, 0.0f);
  add_noise(silence, 20, 1);
  CHECK(
      std::all_of(silence.samples.begin(), silence.samples.end(), [](float v) { return v == 0; }));
}

// ---- decoding -------------------------------------------------------------------------

TEST_CASE("encode_wav and decode round trip within one 16-bit step") {
  Audio song = synth_song(3, 4);
  std::string wav = encode_wav(song);
  CHECK(wav.compare(0, 4, "RIFF") == 0);
  Audio back = decode(wav);
  CHECK(back.sample_rate == kSampleRate);
  REQUIRE(back.samples.size() == song.samples.size());
  float worst = 0;
  for (std::size_t i = 0; i < song.samples.size(); ++i) {
    worst = std::max(worst, std::abs(back.samples[i] - song.samples[i]));
  }
  CHECK(worst <= 1.0f / 32768);
}

TEST_CASE("encode_wav clips out-of-range samples instead of wrapping") {
  Audio loud;
  loud.samples = {1.5f, -1.5f, 0.25f};
  Audio back = decode(encode_wav(loud));
  REQUIRE(back.samples.size() == 3);
  CHECK(back.samples[0] == Approx(32767.0 / 32768));
  CHECK(back.samples[1] == -1.0f);
  CHECK(back.samples[2] == 0.25f);
}

TEST_CASE("a 44.1 kHz stereo WAV decodes to band-limited mono at kSampleRate") {
  TempPath file;
  constexpr int kRate = 44100;
  constexpr double kSeconds = 2;
  // Both channels carry 440 Hz (mixed: amplitude (0.6 + 0.2) / 2 = 0.4)...
  write_stereo_wav(file.path, kRate, static_cast<std::size_t>(kSeconds * kRate), 440, 0.6, 440,
                   0.2);
  Audio audio = decode(read_bytes(file.path));
  CHECK(audio.sample_rate == kSampleRate);
  CHECK(audio.seconds() == Approx(kSeconds).margin(1.0 / kSampleRate));
  // ... which survives resampling.
  CHECK(worst_tone_error(audio, 440, 0.4) < 0.005);
  CHECK(read_file(file.path).samples == audio.samples);

  // A tone above the new Nyquist frequency (5.5 kHz) is filtered out, not aliased.
  write_stereo_wav(file.path, kRate, static_cast<std::size_t>(kSeconds * kRate), 8000, 0.5, 8000,
                   0.5);
  Audio high = decode(read_bytes(file.path));
  std::vector<float> interior(high.samples.begin() + 200, high.samples.end() - 200);
  CHECK(rms(interior) < 0.005);
}

TEST_CASE("other sample rates decode to kSampleRate too") {
  TempPath file;
  // 8 kHz is upsampled; 22051 Hz shares no factor with 11025 Hz, so its phases are rounded.
  for (int rate : {8000, 22051}) {
    INFO("rate " << rate);
    write_stereo_wav(file.path, rate, static_cast<std::size_t>(rate), 1000, 0.5, 1000, 0.5);
    Audio audio = read_file(file.path);
    CHECK(audio.seconds() == Approx(1.0).margin(1.0 / kSampleRate));
    CHECK(worst_tone_error(audio, 1000, 0.5) < 0.005);
  }
}

TEST_CASE("decode rejects what is not audio") {
  std::string wav = encode_wav(synth_song(1, 1));
  CHECK_THROWS_AS(decode(""), AudioError);
  CHECK_THROWS_AS(decode("this is not a WAV file, just some text bytes........"), AudioError);
  CHECK_THROWS_AS(decode(std::string(4096, '\0')), AudioError);
  CHECK_THROWS_AS(decode(std::string_view(wav).substr(0, 20)), AudioError);  // header cut
  CHECK_THROWS_AS(decode(encode_wav(Audio{})), AudioError);                  // no frames
  CHECK_THROWS_AS(read_file("/nonexistent/afp/clip.wav"), AudioError);
  try {
    decode("garbage");
    FAIL("no exception");
  } catch (const AudioError& e) {
    CHECK(std::string(e.what()).find("cannot decode audio") != std::string::npos);
  }
}

// ---- spectrogram, peaks, landmarks ------------------------------------------------------

TEST_CASE("spectrogram frames and magnitudes") {
  FingerprintParams params;
  Audio tone;
  for (int i = 0; i < 3 * 1024; ++i) {
    tone.samples.push_back(
        static_cast<float>(0.5 * std::sin(2 * std::numbers::pi * 1000.0 * i / kSampleRate)));
  }
  int frames = 0;
  std::vector<float> spec = spectrogram(tone, params, &frames);
  const int bins = params.window / 2 + 1;
  CHECK(frames == (3 * 1024 - params.window) / params.hop + 1);
  REQUIRE(spec.size() == static_cast<std::size_t>(frames * bins));
  auto loudest = std::max_element(spec.begin(), spec.begin() + bins) - spec.begin();
  CHECK(loudest == std::lround(1000.0 * params.window / kSampleRate));
  // Hann's coherent gain: |X| = amplitude * window / 4.
  CHECK(spec[static_cast<std::size_t>(loudest)] ==
        Approx(20 * std::log10(0.5 * params.window / 4)).margin(1.5));

  Audio silence;
  silence.samples.assign(4096, 0.0f);
  spec = spectrogram(silence, params, &frames);
  CHECK(std::all_of(spec.begin(), spec.end(), [](float v) { return v == Approx(-100); }));

  Audio too_short;
  too_short.samples.assign(static_cast<std::size_t>(params.window - 1), 0.1f);
  CHECK(spectrogram(too_short, params, &frames).empty());
  CHECK(frames == 0);
  CHECK_THROWS_AS(spectrogram(tone, FingerprintParams{.window = 1023}, &frames),
                  std::invalid_argument);
}

TEST_CASE("find_peaks matches a brute-force neighbourhood maximum") {
  FingerprintParams params;
  params.neighborhood = 3;
  params.min_amplitude_db = 50;
  const int frames = 40, bins = 33;
  std::vector<float> spec(frames * bins);
  std::uint64_t state = 12345;
  for (float& v : spec) {  // coarse values, so ties and plateaus occur
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    v = static_cast<float>((state >> 33) % 40) * 2.5f;
  }
  std::vector<Peak> expected;
  for (int f = 0; f < frames; ++f) {
    for (int b = 0; b < bins; ++b) {
      float v = spec[f * bins + b], hi = v, lo = v;
      for (int df = -3; df <= 3; ++df) {
        for (int db = -3; db <= 3; ++db) {
          int ff = f + df, bb = b + db;
          if (ff < 0 || ff >= frames || bb < 0 || bb >= bins) continue;
          hi = std::max(hi, spec[ff * bins + bb]);
          lo = std::min(lo, spec[ff * bins + bb]);
        }
      }
      if (v == hi && v >= 50 && lo < hi) expected.push_back({f, b});
    }
  }
  std::vector<Peak> got = find_peaks(spec, frames, bins, params);
  REQUIRE_FALSE(expected.empty());
  REQUIRE(got.size() == expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    CHECK(got[i].frame == expected[i].frame);
    CHECK(got[i].bin == expected[i].bin);
  }
}

TEST_CASE("find_peaks ignores flat regions and quiet maxima") {
  FingerprintParams params;
  params.neighborhood = 2;
  params.min_amplitude_db = 10;
  const int frames = 10, bins = 10;
  std::vector<float> spec(frames * bins, 20.0f);  // loud but constant: no peaks
  CHECK(find_peaks(spec, frames, bins, params).empty());

  spec[5 * bins + 5] = 30;  // one loud point: its neighbours see it and are no peaks
  std::vector<Peak> peaks = find_peaks(spec, frames, bins, params);
  REQUIRE(peaks.size() == 1);
  CHECK(peaks[0].frame == 5);
  CHECK(peaks[0].bin == 5);

  std::fill(spec.begin(), spec.end(), -100.0f);
  spec[2 * bins + 7] = 9;  // a maximum below min_amplitude_db
  CHECK(find_peaks(spec, frames, bins, params).empty());
  CHECK_THROWS_AS(find_peaks(spec, frames, bins + 1, params), std::invalid_argument);
}

TEST_CASE("landmarks hash Dejavu's \"f1|f2|dt\" and respect fan-out and dt limits") {
  FingerprintParams params;
  params.fan_value = 2;
  params.min_dt = 0;
  params.max_dt = 10;
  // Deliberately unsorted: landmarks() orders peaks by (frame, bin).
  std::vector<Peak> peaks = {{5, 120}, {0, 100}, {5, 7}, {30, 7}};
  std::vector<Landmark> got = landmarks(peaks, params);
  // Sorted: (0,100) (5,7) (5,120) (30,7). Pairs: 0-1 dt5, 0-2 dt5, 1-2 dt0, 1-3 dt25 (too
  // far), 2-3 dt25 (too far).
  REQUIRE(got.size() == 3);
  CHECK(got[0].offset == 0);
  CHECK(got[0].hash == hash_from_hex("6f9bd0db13f26e7ae358"));  // sha1("100|7|5")
  CHECK(got[1].offset == 0);
  CHECK(got[1].hash == hash_from_hex("85b853d82f0b4ad9958f"));  // sha1("100|120|5")
  CHECK(got[2].offset == 5);
  CHECK(got[2].hash == hash_from_hex("c7d851e72eadeaa2d39b"));  // sha1("7|120|0")

  params.min_dt = 1;
  CHECK(landmarks(peaks, params).size() == 2);
  params.fan_value = 0;
  CHECK(landmarks(peaks, params).empty());
  CHECK(landmarks({}, FingerprintParams{}).empty());
}

TEST_CASE("fingerprints are deterministic and about as dense as Dejavu's") {
  Audio song = synth_song(11, kSongSeconds);
  std::vector<Landmark> first = fingerprint(song);
  std::vector<Landmark> second = fingerprint(synth_song(11, kSongSeconds));
  CHECK(first == second);
  CHECK(std::is_sorted(first.begin(), first.end(),
                       [](const Landmark& a, const Landmark& b) { return a.offset < b.offset; }));

  FingerprintParams params;
  int frames = 0;
  std::vector<float> spec = spectrogram(song, params, &frames);
  std::size_t peaks = find_peaks(spec, frames, params.window / 2 + 1, params).size();
  double per_second = static_cast<double>(peaks) / song.seconds();
  CHECK(per_second >= 15);
  CHECK(per_second <= 40);
  CHECK(static_cast<double>(first.size()) / static_cast<double>(peaks) ==
        Approx(params.fan_value).margin(0.5));
  CHECK(fingerprint(synth_song(12, kSongSeconds)) != first);
}

TEST_CASE("offset_seconds is hop / rate") {
  CHECK(offset_seconds(FingerprintParams{}) == Approx(512.0 / 11025));
  CHECK(offset_seconds(FingerprintParams{.hop = 256}, 8000) == Approx(256.0 / 8000));
  CHECK_THROWS_AS(offset_seconds(FingerprintParams{}, 0), std::invalid_argument);
}

// ---- bytea hex ------------------------------------------------------------------------

TEST_CASE("bytea hex round trips and rejects malformed text") {
  Hash hash{0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0x10, 0xfe, 0xff};
  std::string text = to_bytea_hex(hash);
  CHECK(text == "\\x00017f80abcdef10feff");
  Hash back{};
  REQUIRE(from_bytea_hex(text, &back));
  CHECK(back == hash);
  REQUIRE(from_bytea_hex("\\x00017F80ABCDEF10FEFF", &back));
  CHECK(back == hash);

  Hash untouched{};
  for (std::string_view bad :
       {"", "\\x", "x00017f80abcdef10feff", "\\X00017f80abcdef10feff", "\\x00017f80abcdef10fef",
        "\\x00017f80abcdef10feff00", "\\x00017f80abcdef10fegf", " \\x00017f80abcdef10feff",
        "\\x00017f80abcdef10fef ", "00017f80abcdef10feff00"}) {
    INFO("text: \"" << bad << "\"");
    CHECK_FALSE(from_bytea_hex(bad, &untouched));
  }
  CHECK(untouched == Hash{});
}

// ---- alignment ------------------------------------------------------------------------

TEST_CASE("align picks the (song, difference) with the most hits") {
  AlignOptions loose{1, 0};
  CHECK_FALSE(align({}, 10, loose));

  // Song 2 has three hits at difference 7; song 1 two at 3 and noise elsewhere.
  std::vector<HashHit> hits = {{2, 17, 10}, {2, 27, 20}, {2, 37, 30}, {1, 13, 10},
                               {1, 23, 20}, {1, 50, 1},  {2, 5, 30}};
  auto match = align(hits, 10, loose);
  REQUIRE(match);
  CHECK(match->song_id == 2);
  CHECK(match->offset == 7);
  CHECK(match->aligned == 3);
  CHECK(match->clip_hashes == 10);
  CHECK(match->confidence == Approx(0.3));

  // A clip starting before the song's first landmark: a negative difference is kept.
  match = align({{4, 0, 5}, {4, 1, 6}}, 2, loose);
  REQUIRE(match);
  CHECK(match->offset == -5);
}

TEST_CASE("align breaks ties by lower song id, then lower offset") {
  AlignOptions loose{1, 0};
  auto match = align({{9, 10, 0}, {9, 11, 1}, {3, 40, 0}, {3, 41, 1}}, 4, loose);
  REQUIRE(match);
  CHECK(match->song_id == 3);
  CHECK(match->offset == 40);

  match = align({{5, 30, 0}, {5, 31, 1}, {5, 12, 0}, {5, 13, 1}}, 4, loose);
  REQUIRE(match);
  CHECK(match->song_id == 5);
  CHECK(match->offset == 12);
}

TEST_CASE("align returns nothing below min_aligned or min_confidence") {
  std::vector<HashHit> hits;
  for (int i = 0; i < 20; ++i)
    hits.push_back({1, 100 + i, i});

  auto at_limits = align(hits, 400, AlignOptions{20, 0.05});  // 20 hits, 20/400 = 0.05
  REQUIRE(at_limits);
  CHECK(at_limits->aligned == 20);
  CHECK_FALSE(align(hits, 400, AlignOptions{21, 0.05}));
  CHECK_FALSE(align(hits, 401, AlignOptions{20, 0.05}));
  CHECK_FALSE(align(hits, 0, AlignOptions{1, 0}));
  CHECK_THROWS_AS(align(hits, -1), std::invalid_argument);

  // A repeated clip hash can align more often than there are distinct hashes.
  auto capped = align(hits, 10, AlignOptions{1, 0});
  REQUIRE(capped);
  CHECK(capped->confidence == 1.0);
}

// ---- identification -------------------------------------------------------------------

TEST_CASE("noisy clips identify their song and where they start") {
  const FingerprintParams params;
  struct Case {
    int song_id;
    double start, length;
  };
  // Starts chosen off the 512-sample frame grid.
  for (Case c : {Case{1, 0.37, 5}, Case{4, 12.345, 5}, Case{9, 20.01, 10}, Case{13, 3.1415, 10},
                 Case{17, 24.9, 5}, Case{20, 7.77, 10}}) {
    INFO("song " << c.song_id << " start " << c.start << " length " << c.length);
    const Audio& song = library().songs[static_cast<std::size_t>(c.song_id - 1)];
    auto match = identify(noisy_clip(song, c.start, c.length, 1000 + c.song_id));
    REQUIRE(match);
    CHECK(match->song_id == c.song_id);
    CHECK(std::abs(match->offset - c.start / offset_seconds(params)) <= 1.0);
    CHECK(match->confidence > 0.1);
  }
}

TEST_CASE("clips of unknown songs and of silence are not identified") {
  for (std::uint64_t seed : {1000, 1001, 1002}) {
    INFO("seed " << seed);
    Audio unknown = synth_song(seed, 12);
    CHECK_FALSE(identify(noisy_clip(unknown, 1.3, 10, seed)));
  }
  Audio silence;
  silence.samples.assign(5 * kSampleRate, 0.0f);
  CHECK(fingerprint(silence).empty());
  CHECK_FALSE(identify(silence));
}
