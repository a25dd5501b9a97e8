// --web.config.file YAML: WebConfig::parse. Refusals are http::ServerError; anything else
// escaping, a crash or a leak is a finding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "harness_support.h"
#include "http/server.h"
#include "http/web_config.h"

using namespace afp;

namespace {

// parse() reads the files cert_file, key_file and client_ca_file name. Reading /dev/zero
// or /dev/stdin would hang the harness without saying anything about the parser, so
// inputs that name device or kernel files are skipped.
bool names_special_file(std::string_view yaml) {
  for (std::string_view dir : {"/dev", "/proc", "/sys"}) {
    if (yaml.find(dir) != std::string_view::npos) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto yaml = fuzz::text_of(data, size);
  if (names_special_file(yaml)) return 0;
  try {
    // Relative file names resolve under a directory that does not exist.
    auto config = http::WebConfig::parse(yaml, "/nonexistent/afp-fuzz/web.yml");
    fuzz::require(config != nullptr, "a parsed config exists");
    (void)config->user_count();
  } catch (const http::ServerError&) {
  }
  return 0;
}
