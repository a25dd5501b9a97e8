#pragma once

// libpq looks host names up with a blocking getaddrinfo() that no deadline bounds: a
// resolver that never answers would hold a collection past every deadline. So the exporter
// looks the names up itself, on a thread it can stop waiting for, and hands libpq the
// addresses as hostaddr=, keeping host= for TLS verification and .pgpass.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace afp::pg {

// The addresses of a host name, or none with *error set.
using LookupFn =
    std::function<std::vector<std::string>(const std::string& host, std::string* error)>;

// getaddrinfo(): every IPv4 and IPv6 address, in the resolver's order, without repeats.
std::vector<std::string> system_lookup(const std::string& host, std::string* error);

// The host=, hostaddr= and port= lists to pass to libpq after the DSN, one entry per address
// (libpq tries them in order, as it would have tried the addresses of each name).
struct ResolvedHosts {
  std::string host;
  std::string hostaddr;
  std::string port;  // empty: the DSN's port applies to every entry
};

class HostResolver {
 public:
  explicit HostResolver(LookupFn lookup = system_lookup);

  // The DSN's host names resolved; nullopt when there is nothing to look up (no host,
  // hostaddr given, IP addresses, Unix sockets, or a DSN libpq will refuse anyway). Throws
  // PgError naming the host when a lookup fails or the deadline passes first.
  std::optional<ResolvedHosts> resolve(std::string_view conninfo,
                                       std::chrono::steady_clock::time_point deadline);

 private:
  struct Lookup;
  std::vector<std::string> addresses(const std::string& host,
                                     std::chrono::steady_clock::time_point deadline);

  LookupFn lookup_;
  // A lookup that outlived its deadline, until it returns: the next attempt for the same
  // name waits for it rather than starting another, so a dead resolver costs one thread.
  std::shared_ptr<Lookup> pending_;
};

}  // namespace afp::pg
