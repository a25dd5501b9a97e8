#pragma once

// Internal to the listener: one connection's life. Includes Asio; keep it out of headers
// the rest of the program includes.

#include <atomic>
#include <boost/asio/ip/tcp.hpp>

#include "http/connection_table.h"
#include "http/listener.h"
#include "http/web_security.h"
#include "http/worker_pool.h"
#include "log/logger.h"

namespace afp::http {

// Everything the connections of one listener share; it outlives them.
struct SessionEnv {
  const ServerOptions& options;
  const RequestHandling& handling;
  WorkerPool& pool;
  ConnectionTable& table;
  const std::atomic<bool>& stopping;
  log::Logger& log;
};

// Serves an accepted connection until it closes: the TLS handshake when tls is set, then
// requests, each head, body and response within its deadline. Registers the connection in
// env.table, which may refuse it (closed at once) or close another to make room.
void serve_connection(boost::asio::ip::tcp::socket socket, TlsServer* tls, const SessionEnv& env);

}  // namespace afp::http
