#include "http/web_security.h"

#include <dlfcn.h>

#include <filesystem>
#include <vector>

#include "http/server.h"

// Weak: defined only in a program that links the implementation (the tests).
extern "C" const afp::http::WebSecurity* afp_web_security() __attribute__((weak));

namespace afp::http {

namespace {

constexpr const char* kModule = "afp_web_security.so";
constexpr const char* kEntry = "afp_web_security";

struct Loaded {
  const WebSecurity* api = nullptr;
  std::string error;
};

// Next to the executable (the build tree), then the installed layout:
// /usr/bin/afp_exporter and /usr/lib/afp-exporter/afp_web_security.so.
std::vector<std::filesystem::path> candidates() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  auto dir = ec ? std::filesystem::path(".") : exe.parent_path();
  return {dir / kModule, (dir / ".." / "lib" / "afp-exporter" / kModule).lexically_normal()};
}

Loaded open_module(const std::filesystem::path& path) {
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return {nullptr, "cannot load " + path.string() + ": " + (why ? why : "unknown error")};
  }
  using Entry = const WebSecurity* (*)();
  auto entry = reinterpret_cast<Entry>(::dlsym(handle, kEntry));
  if (!entry) return {nullptr, path.string() + " lacks " + kEntry + ": not this build's module"};
  return {entry(), {}};  // the handle stays open for the life of the process
}

Loaded load() {
  if (afp_web_security != nullptr) return {afp_web_security(), {}};
  std::string looked;
  for (const auto& path : candidates()) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return open_module(path);
    looked += (looked.empty() ? "" : " or ") + path.string();
  }
  return {nullptr, "TLS, basic auth and --web.config.file need " + std::string(kModule) +
                       ", which comes with afp_exporter, but there is no " + looked};
}

}  // namespace

const WebSecurity& web_security() {
  static const Loaded loaded = load();
  if (!loaded.api) throw ServerError(loaded.error);
  return *loaded.api;
}

}  // namespace afp::http
