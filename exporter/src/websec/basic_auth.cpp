#include "http/basic_auth.h"

#include <crypt.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace afp::http {

namespace {

// Remembered successful logins; more users than this is not what basic auth is for.
constexpr std::size_t kCacheLimit = 256;
constexpr std::string_view kBcryptAlphabet =
    "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

int base64_digit(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Standard base64 with padding (what Go's base64.StdEncoding and every browser use).
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    std::uint32_t n = 0;
    int padding = 0;
    for (std::size_t j = 0; j < 4; ++j) {
      char c = in[i + j];
      int digit = 0;
      if (c == '=') {
        if (i + 4 != in.size() || j < 2) return std::nullopt;
        ++padding;
      } else {
        digit = base64_digit(c);
        if (digit < 0 || padding > 0) return std::nullopt;
      }
      n = (n << 6) | static_cast<std::uint32_t>(digit);
    }
    out += static_cast<char>((n >> 16) & 0xff);
    if (padding < 2) out += static_cast<char>((n >> 8) & 0xff);
    if (padding < 1) out += static_cast<char>(n & 0xff);
  }
  return out;
}

}  // namespace

std::string bcrypt_problem(std::string_view hash) {
  const std::string kNotBcrypt =
      "not a bcrypt hash (expected \"$2a$\", \"$2b$\" or \"$2y$\", a two-digit cost, \"$\" and "
      "53 characters, as afp_exporter web hash-password makes)";
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (hash.size() != 60 || !hash.starts_with("$2") ||
      (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') || hash[3] != '$' || !digit(hash[4]) ||
      !digit(hash[5]) || hash[6] != '$') {
    return kNotBcrypt;
  }
  for (char c : hash.substr(7)) {
    if (kBcryptAlphabet.find(c) == std::string_view::npos) return kNotBcrypt;
  }
  int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  if (cost < 4 || cost > 31) {
    return "bcrypt cost " + std::to_string(cost) + " is outside the valid range 4-31";
  }
  std::string text(hash);
  int check = crypt_checksalt(text.c_str());
  if (check == CRYPT_SALT_INVALID || check == CRYPT_SALT_METHOD_DISABLED) {
    return "this system's crypt(3) cannot check bcrypt hashes (libxcrypt without bcrypt?)";
  }
  return {};
}

bool bcrypt_matches(std::string_view password, const std::string& hash) {
  // crypt(3) stops at a NUL byte: "a\0b" must not pass for "a".
  if (password.find('\0') != std::string_view::npos) return false;
  auto data = std::make_unique<crypt_data>();  // 32 KiB: not on a worker's stack
  std::string phrase(password);
  const char* out = crypt_r(phrase.c_str(), hash.c_str(), data.get());
  OPENSSL_cleanse(phrase.data(), phrase.size());
  if (!out || out[0] == '*') return false;
  std::size_t n = std::strlen(out);
  return n == hash.size() && CRYPTO_memcmp(out, hash.data(), n) == 0;
}

std::string bcrypt_hash(std::string_view password, int cost) {
  std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
  // No random bytes passed: libxcrypt takes them from the system's generator.
  if (crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting.data(),
                       static_cast<int>(setting.size())) == nullptr) {
    throw std::runtime_error(std::string("crypt(3) cannot make a bcrypt salt: ") +
                             std::strerror(errno));
  }
  auto data = std::make_unique<crypt_data>();
  std::string phrase(password);
  const char* out =
      crypt_rn(phrase.c_str(), setting.data(), data.get(), static_cast<int>(sizeof(crypt_data)));
  OPENSSL_cleanse(phrase.data(), phrase.size());
  if (out == nullptr || out[0] != '$') {
    throw std::runtime_error(std::string("crypt(3) cannot make a bcrypt hash: ") +
                             std::strerror(errno));
  }
  std::string hash(out);
  OPENSSL_cleanse(data.get(), sizeof(crypt_data));
  return hash;
}

std::optional<std::pair<std::string, std::string>> parse_basic_credentials(
    std::string_view authorization) {
  constexpr std::string_view kScheme = "basic ";
  if (authorization.size() < kScheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) {
      return std::nullopt;
    }
  }
  auto decoded = base64_decode(authorization.substr(kScheme.size()));
  if (!decoded) return std::nullopt;
  auto colon = decoded->find(':');
  if (colon == std::string::npos) return std::nullopt;
  return std::pair{decoded->substr(0, colon), decoded->substr(colon + 1)};
}

BasicAuth::BasicAuth(std::map<std::string, std::string, std::less<>> users, BcryptLimits limits)
    : users_(std::move(users)),
      bcrypt_wait_(limits.wait),
      bcrypt_slots_(std::max<std::ptrdiff_t>(1, limits.slots)) {
  if (RAND_bytes(key_.data(), static_cast<int>(key_.size())) != 1) {
    throw std::runtime_error("basic auth: no random bytes for the credential cache key");
  }
}

std::string BasicAuth::cache_key(std::string_view user, std::string_view password) const {
  // The user's length first, so ("a:b", "c") and ("a", "b:c") cannot collide.
  std::string message = std::to_string(user.size()) + ":";
  message += user;
  message += password;
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int length = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       reinterpret_cast<unsigned char*>(out.data()), &length);
  OPENSSL_cleanse(message.data(), message.size());
  out.resize(length);
  return out;
}

bool BasicAuth::cached(const std::string& key) const {
  std::lock_guard lock(cache_mutex_);
  return cache_.count(key) != 0;
}

bool BasicAuth::answers_at_once(std::string_view authorization) const {
  if (users_.empty()) return true;
  auto credentials = parse_basic_credentials(authorization);
  return !credentials || cached(cache_key(credentials->first, credentials->second));
}

AuthResult BasicAuth::check(std::string_view authorization) const {
  if (users_.empty()) return AuthResult::Allowed;
  auto credentials = parse_basic_credentials(authorization);
  if (!credentials) return AuthResult::Denied;
  const auto& [user, password] = *credentials;
  std::string key = cache_key(user, password);
  if (cached(key)) return AuthResult::Allowed;
  auto it = users_.find(user);
  bool known = it != users_.end();
  // An unknown user costs the same bcrypt as a known one (against a configured hash, so at
  // the same cost), so response times do not tell which user names exist.
  const std::string& hash = known ? it->second : users_.begin()->second;
  if (!bcrypt_slots_.try_acquire_for(bcrypt_wait_)) return AuthResult::Busy;
  bool ok = false;
  {
    struct Slot {
      std::counting_semaphore<>& slots;
      ~Slot() { slots.release(); }
    } slot{bcrypt_slots_};
    ok = bcrypt_matches(password, hash);
  }
  if (!ok || !known) return AuthResult::Denied;
  std::lock_guard lock(cache_mutex_);
  if (cache_.size() >= kCacheLimit) cache_.erase(cache_.begin());
  cache_.insert(std::move(key));
  return AuthResult::Allowed;
}

}  // namespace afp::http
