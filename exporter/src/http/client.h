#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace afp::http {

struct Url {
  bool tls = false;
  std::string host;
  int port = 0;
  std::string target;  // path and query
};

// http:// and https:// URLs; nullopt with *error set otherwise.
std::optional<Url> parse_url(std::string_view text, std::string* error);

struct ClientResponse {
  int status = 0;
  std::string body;
};

// A GET over Boost.Beast, which the server already uses (header-only): a general HTTP
// client library would add several MB of resident shared libraries to every exporter.
// nullopt with *error set when no answer arrives within timeout.
std::optional<ClientResponse> get(const std::string& url, std::chrono::milliseconds timeout,
                                  std::string* error, std::size_t max_body = 256u << 20);

}  // namespace afp::http
