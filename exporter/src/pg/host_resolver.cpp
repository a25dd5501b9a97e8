#include "pg/host_resolver.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "pg/connection.h"
#include "pg/dsn.h"

namespace afp::pg {

namespace {

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  if (text.empty()) return out;
  for (;;) {
    auto comma = text.find(',');
    out.emplace_back(text.substr(0, comma));
    if (comma == std::string_view::npos) return out;
    text.remove_prefix(comma + 1);
  }
}

std::string join_list(const std::vector<std::string>& items) {
  std::string out;
  for (std::size_t i = 0; i < items.size(); ++i)
    out += (i ? "," : "") + items[i];
  return out;
}

bool is_ip_address(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// An empty entry (the default), a Unix socket directory or an abstract socket.
bool is_socket(const std::string& host) {
  return host.empty() || host.starts_with('/') || host.starts_with('@');
}

// The DSN's value of `key`, or libpq's environment fallback for it.
std::string option_or_env(const ConninfoOptions& options, const char* key, const char* env) {
  if (auto it = options.find(key); it != options.end()) return it->second;
  const char* value = std::getenv(env);
  return value ? value : "";
}

}  // namespace

std::vector<std::string> system_lookup(const std::string& host, std::string* error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* result = nullptr;
  if (int rc = getaddrinfo(host.c_str(), nullptr, &hints, &result); rc != 0) {
    *error = gai_strerror(rc);
    return {};
  }
  std::vector<std::string> out;
  for (addrinfo* a = result; a; a = a->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    const void* addr =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (!inet_ntop(a->ai_family, addr, text, sizeof text)) continue;
    if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
  }
  freeaddrinfo(result);
  if (out.empty()) *error = "no address";
  return out;
}

// Shared by the waiting side and the lookup thread, which may outlive the resolver.
struct HostResolver::Lookup {
  std::string host;
  std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;
  std::vector<std::string> addresses;
  std::string error;
};

HostResolver::HostResolver(LookupFn lookup) : lookup_(std::move(lookup)) {}

std::vector<std::string> HostResolver::addresses(const std::string& host,
                                                 std::chrono::steady_clock::time_point deadline) {
  if (!pending_ || pending_->host != host) {
    auto lookup = std::make_shared<Lookup>();
    lookup->host = host;
    std::thread([lookup, fn = lookup_] {
      std::string error;
      auto found = fn(lookup->host, &error);
      std::lock_guard lock(lookup->mutex);
      lookup->addresses = std::move(found);
      lookup->error = std::move(error);
      lookup->done = true;
      lookup->done_cv.notify_all();
    }).detach();
    pending_ = std::move(lookup);
  }
  auto lookup = pending_;
  std::unique_lock lock(lookup->mutex);
  if (!lookup->done_cv.wait_until(lock, deadline, [&] { return lookup->done; })) {
    throw PgError("resolving host \"" + host +
                  "\" timed out (the system resolver did not answer before the connect "
                  "deadline)");
  }
  pending_.reset();
  if (lookup->addresses.empty()) {
    throw PgError("cannot resolve host \"" + host + "\": " + lookup->error);
  }
  return lookup->addresses;
}

std::optional<ResolvedHosts> HostResolver::resolve(std::string_view conninfo,
                                                   std::chrono::steady_clock::time_point deadline) {
  auto options = parse_conninfo(conninfo);
  if (!options || !option_or_env(*options, "hostaddr", "PGHOSTADDR").empty()) return std::nullopt;
  auto hosts = split_list(option_or_env(*options, "host", "PGHOST"));
  auto ports = split_list(option_or_env(*options, "port", "PGPORT"));
  bool port_per_host = ports.size() > 1;
  if (port_per_host && ports.size() != hosts.size()) return std::nullopt;  // libpq says why
  bool looked_up = false;
  std::vector<std::string> out_hosts, out_addrs, out_ports;
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    const std::string& host = hosts[i];
    std::vector<std::string> addrs{""};  // an empty hostaddr entry: libpq uses the host
    if (is_ip_address(host)) {
      addrs = {host};
    } else if (!is_socket(host)) {
      addrs = addresses(host, deadline);
      looked_up = true;
    }
    for (const auto& addr : addrs) {
      out_hosts.push_back(host);
      out_addrs.push_back(addr);
      if (port_per_host) out_ports.push_back(ports[i]);
    }
  }
  if (!looked_up) return std::nullopt;
  return ResolvedHosts{join_list(out_hosts), join_list(out_addrs), join_list(out_ports)};
}

}  // namespace afp::pg
