// The entry point of afp_web_security.so, and of the tests' built-in copy of it
// (http/web_security.h).
#include "websec/module.h"

extern "C" __attribute__((visibility("default"))) const afp::http::WebSecurity* afp_web_security() {
  return &afp::websec::module();
}
