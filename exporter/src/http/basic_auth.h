#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>

// Defined in websec/basic_auth.cpp, part of afp_web_security.so: the exporter reaches them
// through WebConfig and WebSecurity (http/web_security.h) only, the tests link them in.
namespace afp::http {

// "" when `hash` is a bcrypt hash ($2a$, $2b$ or $2y$, cost 4-31) that crypt(3) can check,
// else what is wrong with it. The message never quotes the hash.
std::string bcrypt_problem(std::string_view hash);

// Whether `password` matches the bcrypt `hash`; the results are compared in constant time.
bool bcrypt_matches(std::string_view password, const std::string& hash);

// bcrypt reads this much of a password and ignores the rest.
inline constexpr std::size_t kBcryptMaxPasswordBytes = 72;
inline constexpr int kBcryptDefaultCost = 10;

// A new "$2b$" bcrypt hash of `password` (at most kBcryptMaxPasswordBytes, no NUL byte), with
// a random salt, at `cost` (4-31). Throws std::runtime_error when crypt(3) cannot make one.
std::string bcrypt_hash(std::string_view password, int cost);

// The user and password of an "Authorization: Basic ..." value; nullopt for anything else.
std::optional<std::pair<std::string, std::string>> parse_basic_credentials(
    std::string_view authorization);

enum class AuthResult {
  Allowed,
  Denied,
  Busy,  // every bcrypt slot stayed taken for the whole wait: nothing was decided
};

// How many bcrypt checks may run at once, and how long a check waits for a slot.
struct BcryptLimits {
  std::ptrdiff_t slots = 2;
  std::chrono::milliseconds wait{250};
};

// The basic_auth_users of a web config file: user name → bcrypt hash.
//
// bcrypt is slow on purpose (~70 ms at cost 10), so a successful check is remembered,
// keyed by an HMAC of user and password under a random per-instance key (the password
// itself is never stored), and a scrape every 15 s costs one bcrypt per user, not one per
// scrape. Failures are not remembered: wrong guesses cannot evict the good entries.
// A remembered login never waits for bcrypt. The others share a few bcrypt slots, so a
// flood of bad passwords occupies a core or two and not all of them; a check that finds no
// free slot within a short wait is answered Busy at once instead of queueing every
// request thread behind the flood. An unknown user costs the same bcrypt as a known one.
class BasicAuth {
 public:
  // The hashes must have passed bcrypt_problem().
  explicit BasicAuth(std::map<std::string, std::string, std::less<>> users,
                     BcryptLimits limits = {});
  BasicAuth(const BasicAuth&) = delete;
  BasicAuth& operator=(const BasicAuth&) = delete;

  bool enabled() const { return !users_.empty(); }
  std::size_t size() const { return users_.size(); }
  // Whether an Authorization header value carries the credentials of a configured user.
  AuthResult check(std::string_view authorization) const;
  // Whether check() would answer without a bcrypt: no users, or a remembered login.
  bool answers_at_once(std::string_view authorization) const;

 private:
  std::string cache_key(std::string_view user, std::string_view password) const;
  bool cached(const std::string& key) const;

  std::map<std::string, std::string, std::less<>> users_;
  std::array<unsigned char, 32> key_{};
  mutable std::mutex cache_mutex_;
  mutable std::unordered_set<std::string> cache_;
  std::chrono::milliseconds bcrypt_wait_;
  mutable std::counting_semaphore<> bcrypt_slots_;
};

}  // namespace afp::http
