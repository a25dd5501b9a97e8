#include "fingerprint.h"

#include <kissfft/kiss_fftr.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <memory>
#include <numbers>
#include <stdexcept>
#include <string_view>

namespace afp::workload {

namespace {

// Keeps |X|^2 of digital silence finite: 10*log10(1e-10) = -100 dB.
constexpr double kPowerFloor = 1e-10;

void check_params(const FingerprintParams& p) {
  auto require = [](bool ok, const char* why) {
    if (!ok) throw std::invalid_argument(std::string("fingerprint parameters: ") + why);
  };
  require(p.window >= 2 && p.window % 2 == 0, "window must be an even number >= 2");
  require(p.hop >= 1, "hop must be >= 1");
  require(p.neighborhood >= 0, "neighborhood must be >= 0");
  require(p.fan_value >= 0, "fan_value must be >= 0");
  require(p.min_dt >= 0 && p.min_dt <= p.max_dt, "need 0 <= min_dt <= max_dt");
}

std::vector<float> hann(int size) {
  std::vector<float> w(static_cast<std::size_t>(size));
  for (int i = 0; i < size; ++i) {
    // Symmetric Hann, numpy.hanning: what Dejavu's matplotlib specgram applies.
    w[static_cast<std::size_t>(i)] =
        static_cast<float>(0.5 - 0.5 * std::cos(2 * std::numbers::pi * i / (size - 1)));
  }
  return w;
}

struct FftrDeleter {
  void operator()(kiss_fftr_state* cfg) const { kiss_fftr_free(cfg); }
};

// out[i] = best of in[i - radius .. i + radius] (clamped to the line), in O(n) with a
// monotonic deque of indices. `stride` walks a column of a frame-major matrix.
template <class Better>
void sliding_extreme(const float* in, float* out, int n, std::ptrdiff_t stride, int radius,
                     Better better, std::vector<int>& deque) {
  deque.resize(static_cast<std::size_t>(n));
  radius = std::min(radius, n);  // wider reaches nothing more, and i + radius cannot overflow
  int head = 0, tail = 0, next = 0;
  auto at = [&](int i) { return in[i * stride]; };
  for (int i = 0; i < n; ++i) {
    for (int hi = std::min(n - 1, i + radius); next <= hi; ++next) {
      while (tail > head && !better(at(deque[tail - 1]), at(next)))
        --tail;
      deque[tail++] = next;
    }
    while (deque[head] < i - radius)
      ++head;
    out[i * stride] = at(deque[head]);
  }
}

// The best value of each point's (2r+1)^2 neighbourhood: rows then columns, since the
// extreme over a square is separable.
template <class Better>
std::vector<float> neighbourhood_extreme(const std::vector<float>& spec, int frames, int bins,
                                         int radius, Better better) {
  std::vector<float> rows(spec.size()), out(spec.size());
  std::vector<int> deque;
  for (int f = 0; f < frames; ++f) {
    std::size_t base = static_cast<std::size_t>(f) * bins;
    sliding_extreme(spec.data() + base, rows.data() + base, bins, 1, radius, better, deque);
  }
  for (int b = 0; b < bins; ++b) {
    sliding_extreme(rows.data() + b, out.data() + b, frames, bins, radius, better, deque);
  }
  return out;
}

// SHA-1 over many short strings: one fetched digest and one reused context.
class Sha1 {
 public:
  Sha1() : md_(EVP_MD_fetch(nullptr, "SHA1", nullptr)), ctx_(EVP_MD_CTX_new()) {
    if (!md_ || !ctx_) throw std::runtime_error("OpenSSL: SHA-1 is unavailable");
  }

  Hash first_10_bytes(std::string_view text) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_DigestInit_ex2(ctx_.get(), md_.get(), nullptr) != 1 ||
        EVP_DigestUpdate(ctx_.get(), text.data(), text.size()) != 1 ||
        EVP_DigestFinal_ex(ctx_.get(), digest, &size) != 1 || size < Hash{}.size()) {
      throw std::runtime_error("OpenSSL: SHA-1 failed");
    }
    Hash hash;
    std::copy_n(digest, hash.size(), hash.begin());
    return hash;
  }

 private:
  struct MdFree {
    void operator()(EVP_MD* md) const { EVP_MD_free(md); }
  };
  struct CtxFree {
    void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
  };
  std::unique_ptr<EVP_MD, MdFree> md_;
  std::unique_ptr<EVP_MD_CTX, CtxFree> ctx_;
};

// Dejavu hashes the decimal text "f1|f2|dt" (bins and frame difference).
Hash pair_hash(Sha1& sha1, std::int32_t f1, std::int32_t f2, std::int32_t dt) {
  // Short enough for the small-string buffer: no allocation per landmark.
  std::string text = std::to_string(f1);
  text += '|';
  text += std::to_string(f2);
  text += '|';
  text += std::to_string(dt);
  return sha1.first_10_bytes(text);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::vector<float> spectrogram(const Audio& audio, const FingerprintParams& params, int* frames) {
  check_params(params);
  if (frames == nullptr) throw std::invalid_argument("spectrogram: frames must not be null");
  const auto window = static_cast<std::size_t>(params.window);
  const std::size_t bins = window / 2 + 1;
  const std::size_t n = audio.samples.size();
  *frames = n < window ? 0 : static_cast<int>((n - window) / params.hop + 1);
  std::vector<float> spec(static_cast<std::size_t>(*frames) * bins);
  if (*frames == 0) return spec;

  std::unique_ptr<kiss_fftr_state, FftrDeleter> cfg(
      kiss_fftr_alloc(params.window, 0, nullptr, nullptr));
  if (!cfg)
    throw std::runtime_error("kissfft: cannot allocate a " + std::to_string(window) + "-point FFT");
  const std::vector<float> taper = hann(params.window);
  std::vector<kiss_fft_scalar> frame(window);
  std::vector<kiss_fft_cpx> spectrum(bins);
  for (int f = 0; f < *frames; ++f) {
    const float* start = audio.samples.data() + static_cast<std::size_t>(f) * params.hop;
    for (std::size_t i = 0; i < window; ++i)
      frame[i] = start[i] * taper[i];
    kiss_fftr(cfg.get(), frame.data(), spectrum.data());
    float* row = spec.data() + static_cast<std::size_t>(f) * bins;
    for (std::size_t b = 0; b < bins; ++b) {
      double power = static_cast<double>(spectrum[b].r) * spectrum[b].r +
                     static_cast<double>(spectrum[b].i) * spectrum[b].i;
      row[b] = static_cast<float>(10 * std::log10(power + kPowerFloor));
    }
  }
  return spec;
}

// A peak equals the maximum of its neighbourhood, is loud enough, and is not part of a
// flat stretch (silence or clipping would otherwise make every point a "maximum").
std::vector<Peak> find_peaks(const std::vector<float>& spec, int frames, int bins,
                             const FingerprintParams& params) {
  check_params(params);
  if (frames < 0 || bins < 0 ||
      spec.size() != static_cast<std::size_t>(frames) * static_cast<std::size_t>(bins)) {
    throw std::invalid_argument("find_peaks: spectrogram size is not frames * bins");
  }
  const int r = params.neighborhood;
  const std::vector<float> highest = neighbourhood_extreme(spec, frames, bins, r, std::greater<>());
  const std::vector<float> lowest = neighbourhood_extreme(spec, frames, bins, r, std::less<>());
  std::vector<Peak> peaks;
  for (int f = 0; f < frames; ++f) {
    for (int b = 0; b < bins; ++b) {
      std::size_t i = static_cast<std::size_t>(f) * bins + b;
      if (spec[i] == highest[i] && spec[i] >= params.min_amplitude_db && lowest[i] < highest[i]) {
        peaks.push_back({f, b});
      }
    }
  }
  return peaks;  // frame-major, so already in (frame, bin) order
}

std::vector<Landmark> landmarks(const std::vector<Peak>& peaks, const FingerprintParams& params) {
  check_params(params);
  std::vector<Peak> sorted = peaks;
  std::sort(sorted.begin(), sorted.end(), [](const Peak& a, const Peak& b) {
    return a.frame != b.frame ? a.frame < b.frame : a.bin < b.bin;
  });
  Sha1 sha1;
  std::vector<Landmark> out;
  out.reserve(sorted.size() * std::min(sorted.size(), static_cast<std::size_t>(params.fan_value)));
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    std::size_t last = std::min(sorted.size() - 1, i + static_cast<std::size_t>(params.fan_value));
    for (std::size_t j = i + 1; j <= last; ++j) {
      std::int32_t dt = sorted[j].frame - sorted[i].frame;
      if (dt < params.min_dt || dt > params.max_dt) continue;
      out.push_back({pair_hash(sha1, sorted[i].bin, sorted[j].bin, dt), sorted[i].frame});
    }
  }
  return out;
}

std::vector<Landmark> fingerprint(const Audio& audio, const FingerprintParams& params) {
  int frames = 0;
  std::vector<float> spec = spectrogram(audio, params, &frames);
  int bins = params.window / 2 + 1;
  return landmarks(find_peaks(spec, frames, bins, params), params);
}

double offset_seconds(const FingerprintParams& params, int sample_rate) {
  if (sample_rate <= 0) throw std::invalid_argument("offset_seconds: sample rate must be > 0");
  return static_cast<double>(params.hop) / sample_rate;
}

std::string to_bytea_hex(const Hash& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out = "\\x";
  for (std::uint8_t byte : hash) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 0xf];
  }
  return out;
}

bool from_bytea_hex(std::string_view text, Hash* hash) {
  constexpr std::size_t kPrefix = 2;
  if (text.size() != kPrefix + 2 * Hash{}.size() || text[0] != '\\' || text[1] != 'x') {
    return false;
  }
  Hash parsed;
  for (std::size_t i = 0; i < parsed.size(); ++i) {
    int high = hex_value(text[kPrefix + 2 * i]);
    int low = hex_value(text[kPrefix + 2 * i + 1]);
    if (high < 0 || low < 0) return false;
    parsed[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  if (hash != nullptr) *hash = parsed;
  return true;
}

}  // namespace afp::workload
