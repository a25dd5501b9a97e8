#include "pg/connection.h"

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <exception>
#include <optional>
#include <vector>

#include "pg/dsn.h"
#include "pg/libpq.h"

namespace afp::pg {

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{1000};

// Waits until the socket is ready for `events` or the deadline passes.
bool wait_socket(int fd, short events, Clock::time_point deadline) {
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 60'000)));
    if (rc > 0) return true;
    if (rc < 0 && errno != EINTR) return false;
  }
}

std::string trimmed(const char* message) {
  std::string text = message ? message : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

}  // namespace

Result::Result(pg_result* result) : result_(result, [](pg_result* r) { libpq().PQclear(r); }) {}
int Result::rows() const {
  return libpq().PQntuples(result_.get());
}
int Result::columns() const {
  return libpq().PQnfields(result_.get());
}
int Result::column(const char* name) const {
  return libpq().PQfnumber(result_.get(), name);
}
std::string_view Result::value(int row, int column) const {
  return {libpq().PQgetvalue(result_.get(), row, column),
          static_cast<std::size_t>(libpq().PQgetlength(result_.get(), row, column))};
}
bool Result::is_null(int row, int column) const {
  return libpq().PQgetisnull(result_.get(), row, column) != 0;
}
std::string_view RowView::value(int column) const {
  return {libpq().PQgetvalue(result_, row_, column),
          static_cast<std::size_t>(libpq().PQgetlength(result_, row_, column))};
}
bool RowView::is_null(int column) const {
  return libpq().PQgetisnull(result_, row_, column) != 0;
}
std::int64_t Result::integer(int row, int column) const {
  if (column < 0 || is_null(row, column)) return 0;
  auto text = value(row, column);
  std::int64_t n = 0;
  std::from_chars(text.data(), text.data() + text.size(), n);
  return n;
}

Connection::Connection(std::string conninfo, ConnectionOptions options, log::Logger& log,
                       LookupFn lookup)
    : conninfo_(std::move(conninfo)), options_(options), log_(log), resolver_(std::move(lookup)) {}

Connection::~Connection() {
  if (conn_) libpq().PQfinish(conn_);
}

int Connection::server_version() const {
  return conn_ ? libpq().PQserverVersion(conn_) : 0;
}

void Connection::drop(const std::string& why) {
  if (conn_) {
    libpq().PQfinish(conn_);
    conn_ = nullptr;
  }
  backoff_ = backoff_.count() == 0 ? kFirstBackoff : std::min(backoff_ * 2, options_.max_backoff);
  next_attempt_ = Clock::now() + backoff_;
  if (why != last_error_) {
    log_.warn("PostgreSQL unavailable", {{"target", describe(conninfo_)},
                                         {"err", why},
                                         {"retry_in", std::to_string(backoff_.count()) + "ms"}});
  }
  last_error_ = why;
}

void Connection::fail(const std::string& message) {
  auto clean = scrub(message, conninfo_);
  drop(clean);
  throw PgError(clean);
}

std::string Connection::connect_error() const {
  std::string message = trimmed(libpq().PQerrorMessage(conn_));
  const char* database = libpq().PQdb(conn_);
  // The server's own words (SQLSTATE 3D000), the only sign a failed start-up gives libpq.
  if (database == nullptr || message.find("database \"" + std::string(database) +
                                          "\" does not exist") == std::string::npos) {
    return message;
  }
  return message + " (" + database_origin(conninfo_, options_.dsn_source, std::getenv) + ")";
}

void Connection::ensure_connected(Clock::time_point deadline) {
  if (conn_) return;
  if (Clock::now() < next_attempt_) {
    throw PgError(last_error_.empty() ? "not connected" : last_error_ + " (backing off)");
  }
  connect(std::min(deadline, Clock::now() + options_.connect_timeout));
  // The server ends a statement at statement_timeout even when the exporter stopped
  // waiting for it (scrape deadline), so an abandoned query cannot run for ever.
  query("SET statement_timeout = " + std::to_string(options_.statement_timeout.count()), deadline);
  if (!last_error_.empty()) log_.info("PostgreSQL connected", {{"target", describe(conninfo_)}});
  last_error_.clear();
  backoff_ = std::chrono::milliseconds(0);
}

void Connection::connect(Clock::time_point deadline) {
  std::optional<ResolvedHosts> resolved;
  try {
    resolved = resolver_.resolve(conninfo_, deadline);
  } catch (const PgError& e) {
    fail(e.what());
  }
  // Keys after dbname override what the expanded DSN says.
  std::vector<const char*> keys{"dbname", "fallback_application_name"};
  std::vector<const char*> values{conninfo_.c_str(), "afp_exporter"};
  if (resolved) {
    keys.insert(keys.end(), {"host", "hostaddr"});
    values.insert(values.end(), {resolved->host.c_str(), resolved->hostaddr.c_str()});
    if (!resolved->port.empty()) {
      keys.push_back("port");
      values.push_back(resolved->port.c_str());
    }
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  conn_ = libpq().PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1);
  if (!conn_) fail("out of memory starting a PostgreSQL connection");
  if (libpq().PQstatus(conn_) == CONNECTION_BAD) fail(trimmed(libpq().PQerrorMessage(conn_)));
  auto state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) fail(connect_error());
    short events = state == PGRES_POLLING_READING ? POLLIN : POLLOUT;
    if (!wait_socket(libpq().PQsocket(conn_), events, deadline)) {
      fail("connecting to " + describe(conninfo_) + " timed out");
    }
    state = libpq().PQconnectPoll(conn_);
  }
  libpq().PQsetnonblocking(conn_, 1);
}

void Connection::send(std::string_view sql, Clock::time_point deadline, bool single_row) {
  ensure_connected(deadline);
  if (!libpq().PQsendQuery(conn_, std::string(sql).c_str()))
    fail(trimmed(libpq().PQerrorMessage(conn_)));
  // Refused only when no query is in flight, which cannot be after a successful send.
  if (single_row) libpq().PQsetSingleRowMode(conn_);
  int sock = libpq().PQsocket(conn_);
  for (;;) {
    int flushed = libpq().PQflush(conn_);
    if (flushed < 0) fail(trimmed(libpq().PQerrorMessage(conn_)));
    if (flushed == 0) break;
    if (!wait_socket(sock, POLLOUT | POLLIN, deadline)) fail("query timed out (scrape deadline)");
    if (!libpq().PQconsumeInput(conn_)) fail(trimmed(libpq().PQerrorMessage(conn_)));
  }
}

template <typename Take>
void Connection::receive(Clock::time_point deadline, Take take) {
  int sock = libpq().PQsocket(conn_);
  std::string sql_error;
  for (;;) {
    while (libpq().PQisBusy(conn_)) {
      if (!wait_socket(sock, POLLIN, deadline)) fail("query timed out (scrape deadline)");
      if (!libpq().PQconsumeInput(conn_)) fail(trimmed(libpq().PQerrorMessage(conn_)));
    }
    pg_result* r = libpq().PQgetResult(conn_);
    if (!r) break;
    auto status = libpq().PQresultStatus(r);
    if (status == PGRES_FATAL_ERROR || status == PGRES_BAD_RESPONSE) {
      if (sql_error.empty()) sql_error = trimmed(libpq().PQresultErrorMessage(r));
      libpq().PQclear(r);
      continue;
    }
    take(r);
  }
  if (libpq().PQstatus(conn_) == CONNECTION_BAD) {
    fail(sql_error.empty() ? trimmed(libpq().PQerrorMessage(conn_)) : sql_error);
  }
  if (!sql_error.empty()) throw PgError(scrub(sql_error, conninfo_));
}

Result Connection::query(std::string_view sql, Clock::time_point deadline) {
  send(sql, deadline, /*single_row=*/false);
  std::optional<Result> last;
  receive(deadline, [&](pg_result* r) { last.emplace(r); });
  if (!last) throw PgError("query returned no result");
  return std::move(*last);
}

void Connection::query_rows(std::string_view sql, Clock::time_point deadline,
                            const std::function<void(const RowView&)>& on_row) {
  send(sql, deadline, /*single_row=*/true);
  std::exception_ptr failed;
  receive(deadline, [&](pg_result* r) {
    std::unique_ptr<pg_result, void (*)(pg_result*)> owned(r, libpq().PQclear);
    if (failed) return;  // the rest of the rows are read, to keep the connection usable
    try {
      for (int row = 0, n = libpq().PQntuples(r); row < n; ++row)
        on_row(RowView(r, row));
    } catch (...) {
      failed = std::current_exception();
    }
  });
  if (failed) std::rethrow_exception(failed);
}

}  // namespace afp::pg
