#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>

namespace afp::http {

// What the table needs of a connection.
class Connection {
 public:
  virtual ~Connection() = default;
  // Closes the connection soon; callable from any thread.
  virtual void close() = 0;
};

// The open connections of a server, for the cap on their number and for stop(). A
// connection is "waiting" while it waits for a request head (idle keep-alive, or a head
// still arriving): that is what a slow or idle client costs, and what makes room first.
class ConnectionTable {
 public:
  explicit ConnectionTable(std::size_t cap) : cap_(cap < 1 ? 1 : cap) {}

  // Registers a connection, waiting from now, and returns its id. At the cap, the one that
  // has waited longest is closed to make room; when none is waiting, nullopt: the new one
  // is to be closed.
  std::optional<std::uint64_t> add(std::weak_ptr<Connection> connection);
  // Marks a connection waiting (from now) or busy with a request.
  void set_waiting(std::uint64_t id, bool waiting);
  void remove(std::uint64_t id);
  // Closes every waiting connection; from now on, adds are refused.
  void close_waiting();
  // Whether the table emptied within the timeout.
  bool wait_empty(std::chrono::milliseconds timeout);
  std::size_t size() const;

 private:
  struct Entry {
    std::weak_ptr<Connection> connection;
    bool waiting = true;
    std::chrono::steady_clock::time_point since;
  };

  std::size_t cap_;
  mutable std::mutex mutex_;
  std::condition_variable emptied_;
  std::map<std::uint64_t, Entry> entries_;
  std::uint64_t next_id_ = 0;
  bool closed_ = false;
};

}  // namespace afp::http
