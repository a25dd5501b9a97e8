#include "http/connection_table.h"

#include <vector>

namespace afp::http {

std::optional<std::uint64_t> ConnectionTable::add(std::weak_ptr<Connection> connection) {
  std::shared_ptr<Connection> evicted;
  std::uint64_t id = 0;
  {
    std::lock_guard lock(mutex_);
    if (closed_) return std::nullopt;
    if (entries_.size() >= cap_) {
      auto oldest = entries_.end();
      for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.waiting &&
            (oldest == entries_.end() || it->second.since < oldest->second.since)) {
          oldest = it;
        }
      }
      if (oldest == entries_.end()) return std::nullopt;
      evicted = oldest->second.connection.lock();
      entries_.erase(oldest);
    }
    id = ++next_id_;
    entries_[id] = {std::move(connection), true, std::chrono::steady_clock::now()};
  }
  if (evicted) evicted->close();
  return id;
}

void ConnectionTable::set_waiting(std::uint64_t id, bool waiting) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  it->second.waiting = waiting;
  it->second.since = std::chrono::steady_clock::now();
}

void ConnectionTable::remove(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  if (entries_.erase(id) && entries_.empty()) emptied_.notify_all();
}

void ConnectionTable::close_waiting() {
  std::vector<std::shared_ptr<Connection>> waiting;
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
    for (auto& [id, entry] : entries_) {
      if (!entry.waiting) continue;
      if (auto c = entry.connection.lock()) waiting.push_back(std::move(c));
    }
  }
  for (auto& c : waiting)
    c->close();
}

bool ConnectionTable::wait_empty(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return emptied_.wait_for(lock, timeout, [this] { return entries_.empty(); });
}

std::size_t ConnectionTable::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace afp::http
