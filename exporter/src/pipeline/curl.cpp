#include "pipeline/curl.h"

#include <dlfcn.h>

#include <string>

namespace afp::pipeline {

namespace {

constexpr const char* kSoname = "libcurl.so.4";

struct Loaded {
  Curl api;
  std::string error;
};

Loaded load() {
  Loaded loaded;
  void* handle = ::dlopen(kSoname, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    loaded.error =
        std::string("cannot load ") + kSoname +
        " (the probe needs the Debian package libcurl4): " + (why ? why : "unknown error");
    return loaded;
  }
#define AFP_CURL_LOAD(name)                                                                  \
  loaded.api.name = reinterpret_cast<decltype(&::name)>(::dlsym(handle, #name));             \
  if (!loaded.api.name) {                                                                    \
    loaded.error = std::string(kSoname) + " lacks " #name " (libcurl 7.56 or later needed)"; \
    return loaded;                                                                           \
  }
  AFP_CURL_FUNCTIONS(AFP_CURL_LOAD)
#undef AFP_CURL_LOAD
  // Not thread-safe in older libcurl: done here, under the static's one-time initialisation.
  CURLcode rc = loaded.api.curl_global_init(CURL_GLOBAL_DEFAULT);
  if (rc != CURLE_OK) {
    loaded.error = std::string("curl_global_init failed: ") + loaded.api.curl_easy_strerror(rc);
  }
  return loaded;  // the handle stays open for the life of the process
}

}  // namespace

const Curl& curl() {
  static const Loaded loaded = load();
  if (!loaded.error.empty()) throw CurlError(loaded.error);
  return loaded.api;
}

}  // namespace afp::pipeline
