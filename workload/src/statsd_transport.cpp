// DogStatsD over UDP, as the README's statsd section: fire and forget, several lines per
// datagram.
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <system_error>

#include "number_text.h"
#include "report_transport.h"

namespace afp::workload {

namespace {

constexpr std::string_view kScheme = "statsd://";

bool is_timer(pipeline::Kind kind) {
  return kind == pipeline::Kind::FingerprintGeneration || kind == pipeline::Kind::ApiRequest ||
         kind == pipeline::Kind::DbQuery;
}

// A tag value must not end its tag, its section or its line.
std::string tag_value(std::string_view value) {
  std::string out(value);
  for (auto& c : out) {
    if (c == ',' || c == '|' || c == '\n' || c == '\r' || c == '#') c = '_';
  }
  return out;
}

struct HostPort {
  std::string host;
  std::string port;
};

HostPort split_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return ReporterError("report URL \"" + std::string(url) + "\": " + why +
                         " (statsd://HOST:PORT)");
  };
  if (!url.starts_with(kScheme)) throw bad("not a statsd:// URL");
  auto rest = url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) throw bad("missing host or port");
  auto port = rest.substr(colon + 1);
  int number = 0;
  auto res = std::from_chars(port.data(), port.data() + port.size(), number);
  if (port.empty() || res.ec != std::errc() || res.ptr != port.data() + port.size() ||
      number <= 0 || number > 65535) {
    throw bad("bad port");
  }
  auto host = rest.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return {std::string(host), std::string(port)};
}

class StatsdTransport : public ReportTransport {
 public:
  StatsdTransport(std::string_view url, log::Logger& log) : log_(log) {
    auto [host, port] = split_url(url);
    addrinfo hints{};
    hints.ai_socktype = SOCK_DGRAM;
    addrinfo* found = nullptr;
    int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found);
    if (rc != 0) {
      throw ReporterError("report URL \"" + std::string(url) + "\": " + ::gai_strerror(rc));
    }
    std::memcpy(&address_, found->ai_addr, found->ai_addrlen);
    address_length_ = found->ai_addrlen;
    fd_ = ::socket(found->ai_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ::freeaddrinfo(found);
    if (fd_ < 0) throw ReporterError("cannot open a UDP socket: " + std::string(strerror(errno)));
  }
  ~StatsdTransport() override { ::close(fd_); }

  // UDP has no delivery to wait for: a datagram the kernel refuses is lost, as in any
  // statsd client, and retrying it would only delay the next ones.
  Outcome send(const std::vector<ReportObservation>& batch, std::chrono::milliseconds) override {
    bool all_sent = true;
    for (const auto& datagram : statsd_datagrams(batch)) {
      auto n = ::sendto(fd_, datagram.data(), datagram.size(), MSG_NOSIGNAL,
                        reinterpret_cast<const sockaddr*>(&address_), address_length_);
      if (n < 0) {
        all_sent = false;
        if (!failing_) log_.warn("cannot send statsd datagrams", {{"err", strerror(errno)}});
      }
    }
    failing_ = !all_sent;
    return all_sent ? Outcome::Sent : Outcome::Drop;
  }

 private:
  log::Logger& log_;
  sockaddr_storage address_{};
  socklen_t address_length_ = 0;
  int fd_ = -1;
  bool failing_ = false;
};

}  // namespace

std::string statsd_line(const ReportObservation& o) {
  std::string line = "afp.";
  line += pipeline::wire_name(o.kind);
  line += ':';
  if (is_timer(o.kind)) {
    // Milliseconds to the microsecond: no binary-fraction tails ("1840.0000000000002").
    line += number_text(std::round(o.value * 1e6) / 1e3) + "|ms";
  } else {
    line += number_text(o.value) + "|c";
  }
  const auto& schema = pipeline::label_schema(o.kind);
  for (std::size_t i = 0; i < schema.count; ++i) {
    line += i == 0 ? "|#" : ",";
    line.append(schema.names[i]).append(":").append(tag_value(o.labels[i]));
  }
  return line;
}

std::vector<std::string> statsd_datagrams(const std::vector<ReportObservation>& batch,
                                          std::size_t max_bytes) {
  std::vector<std::string> datagrams;
  std::string current;
  for (const auto& o : batch) {
    std::string line = statsd_line(o);
    if (!current.empty() && current.size() + 1 + line.size() > max_bytes) {
      datagrams.push_back(std::move(current));
      current.clear();
    }
    if (!current.empty()) current += '\n';
    current += line;
  }
  if (!current.empty()) datagrams.push_back(std::move(current));
  return datagrams;
}

std::unique_ptr<ReportTransport> make_statsd_transport(std::string_view url, log::Logger& log) {
  return std::make_unique<StatsdTransport>(url, log);
}

}  // namespace afp::workload
