#include "db_pool.h"

namespace afp::workload {

namespace {

constexpr auto kClientGrace = std::chrono::seconds(2);

// The server's own cancel: "canceling statement due to statement timeout".
bool is_statement_timeout(const pg::PgError& e) {
  return std::string_view(e.what()).find("statement timeout") != std::string_view::npos;
}

}  // namespace

ConnectionPool::Lease::Lease(ConnectionPool& pool, std::unique_ptr<pg::Connection> conn)
    : pool_(&pool), conn_(std::move(conn)) {}

ConnectionPool::Lease::~Lease() {
  if (conn_) pool_->give_back(std::move(conn_));
}

pg::Result ConnectionPool::Lease::query(std::string_view sql) {
  auto deadline = pg::Clock::now() + pool_->options_.statement_timeout + kClientGrace;
  try {
    return conn_->query(sql, deadline);
  } catch (const pg::PgError& e) {
    // A lost connection (or one still backing off after a loss) is dropped by Connection;
    // a live one that threw saw an SQL error.
    if (!conn_->connected()) throw DbUnavailable(std::string("database unavailable: ") + e.what());
    if (is_statement_timeout(e))
      throw DbUnavailable(std::string("database timed out: ") + e.what());
    throw;
  }
}

ConnectionPool::ConnectionPool(std::string dsn, PoolOptions options, log::Logger& log)
    : options_(options) {
  if (options_.size == 0) throw std::invalid_argument("a connection pool needs a connection");
  pg::ConnectionOptions conn_options;
  conn_options.connect_timeout = options_.connect_timeout;
  conn_options.statement_timeout = options_.statement_timeout;
  // Requests arrive all the time: after a loss, try again soon rather than after 30 s.
  conn_options.max_backoff = std::chrono::seconds(2);
  for (std::size_t i = 0; i < options_.size; ++i)
    idle_.push_back(std::make_unique<pg::Connection>(dsn, conn_options, log));
}

ConnectionPool::Lease ConnectionPool::acquire() {
  std::unique_lock lock(mutex_);
  if (!freed_.wait_for(lock, options_.acquire_timeout, [this] { return !idle_.empty(); })) {
    throw DbUnavailable("database unavailable: every connection is busy");
  }
  auto conn = std::move(idle_.back());
  idle_.pop_back();
  return Lease(*this, std::move(conn));
}

void ConnectionPool::give_back(std::unique_ptr<pg::Connection> conn) {
  {
    std::lock_guard lock(mutex_);
    idle_.push_back(std::move(conn));
  }
  freed_.notify_one();
}

}  // namespace afp::workload
