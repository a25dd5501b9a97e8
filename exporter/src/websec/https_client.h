#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "http/client.h"

namespace afp::websec {

// http::get of an https:// URL once its request is built: WebSecurity::https_get.
std::optional<http::ClientResponse> https_get(const http::Url& url, const std::string& request,
                                              std::chrono::milliseconds timeout,
                                              const http::ClientOptions& options,
                                              http::ClientError* error);

}  // namespace afp::websec
