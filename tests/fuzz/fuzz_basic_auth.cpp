// Authorization header values (parse_basic_credentials) and basic_auth_users hashes
// (bcrypt_problem). The bcrypt check itself is left out: it is crypt(3)'s code, and slow
// on purpose.
#include <cstddef>
#include <cstdint>
#include <string>

#include "harness_support.h"
#include "http/basic_auth.h"

using namespace afp;
using fuzz::require;

namespace {

void check_credentials(std::string_view authorization) {
  auto credentials = http::parse_basic_credentials(authorization);
  if (!credentials) return;
  // The user is what comes before the first colon, so it never holds one.
  require(credentials->first.find(':') == std::string::npos, "user names hold no ':'");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::text_of(data, size);
  check_credentials(text);
  // Most inputs would stop at the scheme; this way the base64 decoder sees them all.
  check_credentials("Basic " + std::string(text));
  auto problem = http::bcrypt_problem(text);
  if (problem.empty()) require(text.size() == 60 && text.starts_with("$2"), "bcrypt shape");
  return 0;
}
