#pragma once

// Hand-made HTTP clients on plain sockets, for what curl will not do: trickle a request
// byte by byte, hold a connection open without a request, send a head that never ends.

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <string_view>
#include <thread>

namespace afp::test {

// A TCP connection to 127.0.0.1:port, closed with the object.
class RawConnection {
 public:
  // receive_buffer: SO_RCVBUF in bytes, set before the connection (0: the system's).
  explicit RawConnection(int port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<std::uint16_t>(port));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  // False once the server has closed (or reset) the connection.
  bool send(std::string_view data) {
    while (fd_ >= 0 && !data.empty()) {
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return fd_ >= 0;
  }

  // What arrives until `stop` is in it, the server closes, or the timeout passes.
  std::string receive(std::chrono::milliseconds timeout, std::string_view stop = {}) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (fd_ >= 0 && (stop.empty() || out.find(stop) == std::string::npos)) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
  }

  // As receive(), reading at most `read_bytes` at a time with `pause` before each read: a
  // client slower than the server, whose sends then wait on it.
  std::string receive_slowly(std::chrono::milliseconds timeout, std::string_view stop,
                             std::size_t read_bytes, std::chrono::microseconds pause) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string buf(read_bytes, '\0');
    while (fd_ >= 0 && out.find(stop) == std::string::npos) {
      std::this_thread::sleep_for(pause);
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      ssize_t n = ::recv(fd_, buf.data(), buf.size(), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return out;
  }

  // Closes with a reset (RST) rather than an orderly close: a client that crashed.
  void reset() {
    if (fd_ < 0) return;
    linger abort{1, 0};
    setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    ::close(fd_);
    fd_ = -1;
  }

  // Whether the server closed the connection within the timeout (what it sent is dropped).
  bool closed_within(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!closed_ && std::chrono::steady_clock::now() < deadline) {
      receive(std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now()));
    }
    return closed_;
  }

 private:
  int fd_ = -1;
  bool closed_ = false;
};

}  // namespace afp::test
