#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "log/logger.h"
#include "pg/host_resolver.h"

struct pg_conn;
struct pg_result;

namespace afp::pg {

using Clock = std::chrono::steady_clock;

// A failed connection or query. Messages never contain the DSN's password.
class PgError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One result set, read in place (no copies of the values).
class Result {
 public:
  explicit Result(pg_result* result);
  int rows() const;
  int columns() const;
  // -1 when the result has no such column (PostgreSQL versions differ in their views).
  int column(const char* name) const;
  std::string_view value(int row, int column) const;
  bool is_null(int row, int column) const;
  // A bigint column's value; 0 when NULL, not an integer, or column is -1 (no such column).
  std::int64_t integer(int row, int column) const;

 private:
  std::shared_ptr<pg_result> result_;
};

// One row of a result read row by row (Connection::query_rows); valid only during the
// callback it is handed to.
class RowView {
 public:
  RowView(const pg_result* result, int row) : result_(result), row_(row) {}
  std::string_view value(int column) const;
  bool is_null(int column) const;

 private:
  const pg_result* result_;
  int row_;
};

struct ConnectionOptions {
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds statement_timeout{2000};
  std::chrono::milliseconds max_backoff{30000};
  // Where the DSN came from (Dsn::source), named when the database it chose does not exist.
  std::string dsn_source = {};
};

// One persistent libpq connection. Every call has a deadline: host names are looked up on
// a thread of their own (pg/host_resolver.h), and connecting and querying use libpq's
// non-blocking API and poll(), so a hung resolver or a hung or locked server costs a
// collection at most its deadline. A failed connection is retried with exponential backoff (1 s
// doubling to max_backoff); while backing off, calls fail at once instead of piling up connections.
// Not thread-safe: one owner (the PostgreSQL source) serialises its use.
class Connection {
 public:
  Connection(std::string conninfo, ConnectionOptions options, log::Logger& log,
             LookupFn lookup = system_lookup);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one statement (simple query protocol) and returns its last result. SQL errors
  // throw PgError and keep the connection; connection loss or the deadline drops it.
  Result query(std::string_view sql, Clock::time_point deadline);
  // Runs one statement in libpq's single-row mode and hands each row to on_row as it
  // arrives, so libpq never holds the whole result. Errors as query(); rows handed over
  // before a failure are the caller's to discard. An exception from on_row is rethrown
  // once the statement is done, keeping the connection.
  void query_rows(std::string_view sql, Clock::time_point deadline,
                  const std::function<void(const RowView&)>& on_row);
  bool connected() const { return conn_ != nullptr; }
  // The server's version number (e.g. 150004), 0 while disconnected.
  int server_version() const;

 private:
  void ensure_connected(Clock::time_point deadline);
  void connect(Clock::time_point deadline);
  void drop(const std::string& why);
  // libpq's error after a failed connection attempt, with the setting that chose the
  // database when the server says there is no such database.
  std::string connect_error() const;
  [[noreturn]] void fail(const std::string& message);
  void send(std::string_view sql, Clock::time_point deadline, bool single_row);
  // Reads every result of the statement in flight, handing each successful one to `take`
  // (which owns it from then on); throws once the connection is idle again.
  template <typename Take>
  void receive(Clock::time_point deadline, Take take);

  std::string conninfo_;
  ConnectionOptions options_;
  log::Logger& log_;
  HostResolver resolver_;
  pg_conn* conn_ = nullptr;
  Clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  std::string last_error_;
};

}  // namespace afp::pg
