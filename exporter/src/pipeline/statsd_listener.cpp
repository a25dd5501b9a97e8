#include "pipeline/statsd_listener.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "core/listen_address.h"
#include "pipeline/statsd_parser.h"

namespace afp::pipeline {
namespace {

// 32 datagrams a system call keeps the call rate low at 100,000 lines/s while the buffers
// stay under 300 KiB.
constexpr std::size_t kBatchDatagrams = 32;
// A batch of datagrams holding only very short lines could make tens of thousands of
// observations; handing them to the Store in chunks bounds that vector.
constexpr std::size_t kMaxPending = 4096;
constexpr auto kDropWarningInterval = std::chrono::minutes(1);

std::string errno_text(int err) {
  return std::error_code(err, std::generic_category()).message();
}

class FdCloser {
 public:
  explicit FdCloser(int& fd) : fd_(fd) {}
  ~FdCloser() {
    if (armed_ && fd_ >= 0) ::close(fd_);
    if (armed_) fd_ = -1;
  }
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  void release() { armed_ = false; }

 private:
  int& fd_;
  bool armed_ = true;
};

// ":9125" / "host:9125" as the HTTP listeners take it (same errors, same name resolution),
// IPv4 only.
sockaddr_in parse_address(const std::string& address) {
  std::string error;
  auto parsed = core::parse_listen_address(address, &error);
  if (!parsed) throw StatsdListenerError("statsd " + error);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  if (!parsed->ip.empty() && inet_pton(AF_INET, parsed->ip.c_str(), &sa.sin_addr) != 1) {
    throw StatsdListenerError("statsd listen address \"" + address +
                              "\": the statsd listener takes IPv4 addresses only");
  }
  sa.sin_port = htons(static_cast<std::uint16_t>(parsed->port));
  return sa;
}

// What the kernel granted (it reports twice the usable size it accounts for).
std::size_t set_receive_buffer(int fd, std::size_t bytes) {
  int want = static_cast<int>(std::min<std::size_t>(bytes, INT_MAX / 2));
  // As root (CAP_NET_ADMIN) the asked size wins over net.core.rmem_max: the operator chose it.
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
  }
  int got = 0;
  socklen_t len = sizeof got;
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &len) != 0) return 0;
  return static_cast<std::size_t>(got) / 2;
}

// One recvmmsg batch: the datagrams, whether each was cut, and the kernel's drop count.
class Receiver {
 public:
  Receiver() : data_(kBatchDatagrams * kStatsdDatagramBytes) {
    for (std::size_t i = 0; i < kBatchDatagrams; ++i) {
      iov_[i] = {data_.data() + i * kStatsdDatagramBytes, kStatsdDatagramBytes};
      msgs_[i].msg_hdr.msg_iov = &iov_[i];
      msgs_[i].msg_hdr.msg_iovlen = 1;
    }
  }
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Reads what is queued without blocking; the count, or -1 and errno.
  int receive(int fd) {
    for (std::size_t i = 0; i < kBatchDatagrams; ++i) {
      msgs_[i].msg_hdr.msg_control = control_[i].data();
      msgs_[i].msg_hdr.msg_controllen = control_[i].size();
      msgs_[i].msg_hdr.msg_flags = 0;
    }
    return recvmmsg(fd, msgs_.data(), kBatchDatagrams, MSG_DONTWAIT, nullptr);
  }
  std::string_view datagram(int i) const {
    return {data_.data() + static_cast<std::size_t>(i) * kStatsdDatagramBytes, msgs_[i].msg_len};
  }
  bool truncated(int i) const { return (msgs_[i].msg_hdr.msg_flags & MSG_TRUNC) != 0; }
  // The cumulative count of datagrams the socket dropped, when the kernel attached it (it
  // does once the count is non-zero).
  std::optional<std::uint32_t> drop_count(int i) const {
    auto* hdr = const_cast<msghdr*>(&msgs_[i].msg_hdr);
    for (cmsghdr* c = CMSG_FIRSTHDR(hdr); c != nullptr; c = CMSG_NXTHDR(hdr, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL) continue;
      std::uint32_t count = 0;
      std::memcpy(&count, CMSG_DATA(c), sizeof count);
      return count;
    }
    return std::nullopt;
  }

 private:
  using Control = std::array<char, CMSG_SPACE(sizeof(std::uint32_t))>;
  static_assert(sizeof(Control) % alignof(cmsghdr) == 0, "every control buffer stays aligned");
  std::vector<char> data_;
  std::array<iovec, kBatchDatagrams> iov_{};
  std::array<mmsghdr, kBatchDatagrams> msgs_{};
  alignas(cmsghdr) std::array<Control, kBatchDatagrams> control_{};
};

// Turns batches into Store calls; everything it holds is reused from batch to batch.
class Ingest {
 public:
  Ingest(Store& store, log::Logger& log, std::size_t buffer_bytes)
      : store_(store), log_(log), buffer_bytes_(buffer_bytes) {
    observations_.reserve(kMaxPending);
  }

  void batch(const Receiver& rx, int n) {
    RejectCounts rejected{};
    for (int i = 0; i < n; ++i) {
      if (auto count = rx.drop_count(i)) note_drops(*count, rejected);
      if (rx.truncated(i)) {
        ++rejected[static_cast<std::size_t>(Reject::Malformed)];
        continue;
      }
      parse_statsd_datagram(rx.datagram(i), observations_, rejected);
      if (observations_.size() >= kMaxPending) flush();
    }
    flush();
    for (std::size_t r = 0; r < rejected.size(); ++r) {
      if (rejected[r] != 0)
        store_.count_rejected(Transport::Statsd, static_cast<Reject>(r), rejected[r]);
    }
  }

 private:
  void flush() {
    if (observations_.empty()) return;
    store_.apply_each(Transport::Statsd, observations_);
    observations_.clear();
  }

  // The count is cumulative and 32 bits wide; unsigned subtraction survives its wrap.
  void note_drops(std::uint32_t cumulative, RejectCounts& rejected) {
    std::uint32_t dropped = cumulative - last_drop_count_;
    last_drop_count_ = cumulative;
    if (dropped == 0) return;
    rejected[static_cast<std::size_t>(Reject::Dropped)] += dropped;
    unwarned_drops_ += dropped;
    auto now = std::chrono::steady_clock::now();
    if (last_warning_ && now - *last_warning_ < kDropWarningInterval) return;
    last_warning_ = now;
    log_.warn("statsd datagrams dropped, the receive buffer was full",
              {{"dropped", std::to_string(unwarned_drops_)},
               {"read_buffer_bytes", std::to_string(buffer_bytes_)}});
    unwarned_drops_ = 0;
  }

  Store& store_;
  log::Logger& log_;
  std::size_t buffer_bytes_;
  std::vector<Observation> observations_;
  std::uint32_t last_drop_count_ = 0;
  std::uint64_t unwarned_drops_ = 0;
  std::optional<std::chrono::steady_clock::time_point> last_warning_;
};

}  // namespace

StatsdListener::StatsdListener(std::string listen_address, Store& store, log::Logger& log,
                               std::size_t read_buffer_bytes)
    : address_(std::move(listen_address)),
      store_(store),
      log_(log),
      read_buffer_bytes_(read_buffer_bytes) {}

StatsdListener::~StatsdListener() {
  stop();
}

std::size_t StatsdListener::bind_socket() {
  sockaddr_in sa = parse_address(address_);
  auto fail = [&](std::string_view what, int err) {
    return StatsdListenerError("statsd listen address \"" + address_ + "\": " + std::string(what) +
                               ": " + errno_text(err));
  };
  socket_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (socket_ < 0) throw fail("socket", errno);
  FdCloser closer(socket_);
  std::size_t granted = set_receive_buffer(socket_, read_buffer_bytes_);
  int on = 1;
  if (setsockopt(socket_, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof on) != 0) {
    log_.warn("statsd: kernel drops will not be counted", {{"err", errno_text(errno)}});
  }
  if (::bind(socket_, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) != 0) {
    if (errno == EADDRINUSE) {
      throw StatsdListenerError("statsd listen address \"" + address_ +
                                "\": " + core::address_in_use("--statsd.listen-address"));
    }
    throw fail("bind", errno);
  }
  socklen_t len = sizeof sa;
  if (getsockname(socket_, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    throw fail("getsockname", errno);
  }
  port_ = ntohs(sa.sin_port);
  closer.release();
  return granted;
}

void StatsdListener::start() {
  if (socket_ >= 0) throw std::logic_error("StatsdListener::start called twice");
  std::size_t granted = bind_socket();
  FdCloser socket_closer(socket_);
  wake_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_ < 0) {
    throw StatsdListenerError("statsd listener: eventfd: " + errno_text(errno));
  }
  FdCloser wake_closer(wake_);
  if (granted < read_buffer_bytes_) {
    log_.warn("statsd receive buffer smaller than asked; raise net.core.rmem_max",
              {{"asked_bytes", std::to_string(read_buffer_bytes_)},
               {"granted_bytes", std::to_string(granted)}});
  }
  read_buffer_bytes_ = granted;
  thread_ = std::thread(&StatsdListener::run, this);
  socket_closer.release();
  wake_closer.release();
  // The app logs the address and port; the granted buffer is for whoever tunes it.
  log_.debug("statsd listener started", {{"address", address_},
                                         {"port", std::to_string(port_)},
                                         {"read_buffer_bytes", std::to_string(granted)}});
}

void StatsdListener::stop() {
  if (thread_.joinable()) {
    std::uint64_t one = 1;
    // An eventfd write of 1 cannot fail short of overflow, which one stop() cannot reach.
    [[maybe_unused]] auto n = ::write(wake_, &one, sizeof one);
    thread_.join();
  }
  for (int* fd : {&socket_, &wake_}) {
    if (*fd >= 0) ::close(*fd);
    *fd = -1;
  }
}

void StatsdListener::run() {
  Receiver rx;
  Ingest ingest(store_, log_, read_buffer_bytes_);
  std::array<pollfd, 2> fds{{{socket_, POLLIN, 0}, {wake_, POLLIN, 0}}};
  while (true) {
    if (::poll(fds.data(), fds.size(), -1) < 0) {
      if (errno == EINTR) continue;
      log_.error("statsd listener: poll failed", {{"err", errno_text(errno)}});
      return;
    }
    if (fds[1].revents != 0) return;
    int n = rx.receive(socket_);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
      log_.error("statsd listener: receive failed", {{"err", errno_text(errno)}});
      // A persistent error (ENOMEM) would otherwise spin; the wait still ends on stop().
      ::poll(&fds[1], 1, 1000);
      continue;
    }
    try {
      ingest.batch(rx, n);
    } catch (const std::exception& e) {
      log_.error("statsd listener: batch lost", {{"err", e.what()}});
    }
  }
}

}  // namespace afp::pipeline
