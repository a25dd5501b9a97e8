#include "pg/libpq.h"

#include <dlfcn.h>

#include <string>

#include "pg/connection.h"

namespace afp::pg {

namespace {

struct Loaded {
  Libpq api;
  std::string error;
};

Loaded load() {
  Loaded loaded;
  void* handle = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    loaded.error = std::string("cannot load libpq.so.5 (Debian package libpq5): ") +
                   (why ? why : "unknown error");
    return loaded;
  }
#define AFP_LIBPQ_LOAD(name)                                                     \
  loaded.api.name = reinterpret_cast<decltype(&::name)>(::dlsym(handle, #name)); \
  if (!loaded.api.name) {                                                        \
    loaded.error = "libpq.so.5 lacks " #name;                                    \
    return loaded;                                                               \
  }
  AFP_LIBPQ_FUNCTIONS(AFP_LIBPQ_LOAD)
#undef AFP_LIBPQ_LOAD
  return loaded;  // the handle stays open for the life of the process
}

}  // namespace

const Libpq& libpq() {
  static const Loaded loaded = load();
  if (!loaded.error.empty()) throw PgError(loaded.error);
  return loaded.api;
}

}  // namespace afp::pg
