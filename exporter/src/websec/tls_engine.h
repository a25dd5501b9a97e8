#pragma once

#include <memory>

#include "http/web_security.h"

struct ssl_st;  // OpenSSL's SSL

namespace afp::websec {

// An engine over `ssl` (taken over: freed with the engine), in the server role.
std::unique_ptr<http::TlsEngine> make_tls_engine(ssl_st* ssl);

}  // namespace afp::websec
