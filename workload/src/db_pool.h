#pragma once

// A few PostgreSQL connections shared by the service's request threads: afp::pg::Connection
// is single-owner, and one connection per request would cost a backend start each time.

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "log/logger.h"
#include "pg/connection.h"

namespace afp::workload {

// The database cannot answer now (down, unreachable, timed out, no connection free): the
// service answers 503. SQL errors stay pg::PgError (a bug or a broken schema: 500).
class DbUnavailable : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PoolOptions {
  std::size_t size = 4;
  std::chrono::milliseconds connect_timeout{5000};
  // The server cancels a statement after this; the client waits a little longer so the
  // server's cancel (which keeps the connection) normally comes first.
  std::chrono::milliseconds statement_timeout{30000};
  // How long a caller waits for a free connection.
  std::chrono::milliseconds acquire_timeout{30000};
};

class ConnectionPool {
 public:
  // A connection held by one caller until the lease ends.
  class Lease {
   public:
    Lease(ConnectionPool& pool, std::unique_ptr<pg::Connection> conn);
    ~Lease();
    Lease(Lease&&) = default;
    Lease& operator=(Lease&&) = delete;
    // One statement with the pool's deadline. Throws DbUnavailable when the database did
    // not answer, pg::PgError for SQL errors.
    pg::Result query(std::string_view sql);

   private:
    ConnectionPool* pool_;
    std::unique_ptr<pg::Connection> conn_;
  };

  ConnectionPool(std::string dsn, PoolOptions options, log::Logger& log);
  // Throws DbUnavailable when no connection frees up within acquire_timeout.
  Lease acquire();

 private:
  void give_back(std::unique_ptr<pg::Connection> conn);

  PoolOptions options_;
  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<pg::Connection>> idle_;
};

}  // namespace afp::workload
