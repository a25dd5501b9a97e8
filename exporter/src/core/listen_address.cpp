#include "core/listen_address.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <array>
#include <charconv>

namespace afp::core {

namespace {

bool is_ip(const std::string& host, int family) {
  std::array<unsigned char, sizeof(in6_addr)> buf{};
  return inet_pton(family, host.c_str(), buf.data()) == 1;
}

// The first address of `family` getaddrinfo gives for host; empty with *error set.
std::string resolve(const std::string& host, int family, std::string* error) {
  addrinfo hints{};
  hints.ai_family = family;
  addrinfo* result = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result); rc != 0 || !result) {
    *error = "cannot resolve host \"" + host + "\": " + gai_strerror(rc);
    return {};
  }
  std::array<char, INET6_ADDRSTRLEN> buf{};
  const void* addr = family == AF_INET
                         ? static_cast<const void*>(
                               &reinterpret_cast<const sockaddr_in*>(result->ai_addr)->sin_addr)
                         : &reinterpret_cast<const sockaddr_in6*>(result->ai_addr)->sin6_addr;
  inet_ntop(family, addr, buf.data(), static_cast<socklen_t>(buf.size()));
  freeaddrinfo(result);
  return buf.data();
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view address, std::string* error) {
  std::string quoted = "listen address \"" + std::string(address) + "\"";
  auto colon = address.rfind(':');
  if (colon == std::string_view::npos) {
    *error = quoted + " must be host:port, [ipv6]:port or :port";
    return std::nullopt;
  }
  std::string host(address.substr(0, colon));
  auto port_text = address.substr(colon + 1);
  ListenAddress out;
  auto res = std::from_chars(port_text.data(), port_text.data() + port_text.size(), out.port);
  if (port_text.empty() || res.ec != std::errc() ||
      res.ptr != port_text.data() + port_text.size() || out.port > 65535) {
    *error = quoted + ": bad port \"" + std::string(port_text) + "\"";
    return std::nullopt;
  }
  if (host.starts_with('[') || host.ends_with(']')) {
    if (host.size() < 2 || !host.starts_with('[') || !host.ends_with(']') ||
        !is_ip(host.substr(1, host.size() - 2), AF_INET6)) {
      *error = quoted + ": \"" + host + "\" is not an IPv6 address in brackets";
      return std::nullopt;
    }
    out.ip = host.substr(1, host.size() - 2);
    return out;
  }
  if (host.find(':') != std::string::npos) {
    *error = quoted + ": an IPv6 address needs brackets, as in [::1]:9793";
    return std::nullopt;
  }
  if (host.empty() || is_ip(host, AF_INET)) {
    out.ip = host;
    return out;
  }
  std::string ignored;
  out.ip = resolve(host, AF_INET, error);
  if (out.ip.empty()) out.ip = resolve(host, AF_INET6, &ignored);
  if (out.ip.empty()) {
    *error = quoted + ": " + *error;
    return std::nullopt;
  }
  return out;
}

std::string address_in_use(std::string_view flag) {
  std::string text =
      "address already in use (another process holds the port: stop it, or choose "
      "another port";
  if (!flag.empty()) text.append(" with ").append(flag);
  return text + ")";
}

}  // namespace afp::core
