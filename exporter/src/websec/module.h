#pragma once

#include "http/web_security.h"

namespace afp::websec {

// The implementation behind http::WebSecurity: what afp_web_security() hands out.
const http::WebSecurity& module();

}  // namespace afp::websec
