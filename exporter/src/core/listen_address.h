#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace afp::core {

// A listen address as node_exporter takes it: "host:port", ":port" (every address),
// "[::1]:port" (IPv6 in brackets). Host names are resolved once, at parse time.
struct ListenAddress {
  std::string ip;     // numeric, "127.0.0.1" or "::1"; empty: every address of the host
  unsigned port = 0;  // 0: any free port
  bool ipv6() const { return ip.find(':') != std::string::npos; }
};

// The address, or nullopt with *error naming it and saying what is wrong. A host name
// resolves to its first IPv4 address, or its first IPv6 one when it has none.
std::optional<ListenAddress> parse_listen_address(std::string_view address, std::string* error);

// What a bind that failed with EADDRINUSE says, and what to do: the flag that picks the
// address (empty: none named), e.g. "--web.listen-address".
std::string address_in_use(std::string_view flag);

}  // namespace afp::core
