#pragma once

// The statsd / DogStatsD UDP listener (--statsd.listen-address): receives datagrams, parses
// their lines (statsd_parser.h) and hands the observations to the Store, one Store call per
// batch of datagrams. Counted in afp_ingest_{observations,rejected}_total{transport="statsd"}:
//   - every line, accepted or refused by reason (parser or Store);
//   - a datagram longer than kStatsdDatagramBytes is truncated by the kernel and counted
//     once as malformed, whatever it held;
//   - datagrams the kernel dropped because the receive buffer was full, as reason="dropped"
//     (a count of datagrams, not lines: what they held is unknown). The kernel reports its
//     cumulative drop count with the next datagram that is received (SO_RXQ_OVFL), so drops
//     show up when traffic resumes.

#include <cstddef>
#include <stdexcept>
#include <string>
#include <thread>

#include "log/logger.h"
#include "pipeline/store.h"

namespace afp::pipeline {

// The largest datagram read whole: 9 KiB holds what a client on a jumbo-frame network sends
// (8,932 bytes of payload) and every datagram of clients that keep to the common 1,432 or
// 8,192 bytes.
inline constexpr std::size_t kStatsdDatagramBytes = 9 * 1024;
inline constexpr std::size_t kStatsdReadBufferBytes = 8 * 1024 * 1024;

class StatsdListenerError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class StatsdListener {
 public:
  // listen_address: ":9125" (all IPv4 interfaces) or "host:9125"; port 0 picks a free port.
  // read_buffer_bytes: the socket receive buffer asked for. With CAP_NET_ADMIN it is set as
  // asked (SO_RCVBUFFORCE); otherwise the kernel caps it at net.core.rmem_max, and start()
  // logs a warning when it got less.
  StatsdListener(std::string listen_address, Store& store, log::Logger& log,
                 std::size_t read_buffer_bytes = kStatsdReadBufferBytes);
  ~StatsdListener();
  StatsdListener(const StatsdListener&) = delete;
  StatsdListener& operator=(const StatsdListener&) = delete;

  // Binds and starts the receiving thread. Throws StatsdListenerError naming the address
  // and the system's reason (bad address, port in use, ...). Call at most once.
  void start();
  // Wakes the receiving thread, joins it and closes the socket; datagrams still queued are
  // not read. Idempotent; the destructor calls it.
  void stop();
  // The bound UDP port (useful with port 0); 0 before start().
  int port() const { return port_; }

 private:
  std::size_t bind_socket();  // the receive buffer the kernel granted
  void run();

  std::string address_;
  Store& store_;
  log::Logger& log_;
  std::size_t read_buffer_bytes_;
  int socket_ = -1;
  int wake_ = -1;  // eventfd: stop() writes it to end the thread's poll
  int port_ = 0;
  std::thread thread_;
};

}  // namespace afp::pipeline
