#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "http/reply.h"
#include "http/server.h"

namespace afp::http {

class TlsServer;

// What the connections ask of the server about each request head they have read.
struct RequestHandling {
  // Whether respond() may run on an I/O thread for this request: cheap and never blocking.
  std::function<bool(const Request&)> answers_inline;
  // The answer; on a worker unless answers_inline said so.
  std::function<Reply(const Request&)> respond;
};

// The network side of a Server, over Boost.Asio and Beast: one acceptor per listen
// address, options.io_threads threads running every connection asynchronously, a pool of
// options.worker_threads for the handlers, and the connection table that enforces
// options.max_connections.
class Listener {
 public:
  // Binds every listen address and starts the threads; throws ServerError naming the
  // address that failed. tls (may be null) outlives the listener.
  Listener(const ServerOptions& options, TlsServer* tls, RequestHandling handling,
           log::Logger& log);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void stop();
  // The bound ports, in listen-address order.
  std::vector<int> ports() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace afp::http
