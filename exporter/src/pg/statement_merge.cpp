#include "pg/statement_merge.h"

#include <algorithm>

#include "core/utf8.h"
#include "metrics/text_writer.h"
#include "pg/sql_canonical.h"
#include "pg/sql_redact.h"

namespace afp::pg {

std::string cap_utf8(std::string_view text, std::size_t max_chars) {
  std::string out;
  out.reserve(std::min(text.size(), max_chars * 4));
  std::size_t chars = 0;
  std::size_t i = 0;
  while (i < text.size() && chars < max_chars) {
    // The shared validator: overlong forms, surrogates and code points beyond U+10FFFF
    // are invalid too, and Prometheus refuses a scrape with such a label value.
    std::size_t len = static_cast<unsigned char>(text[i]) < 0x80
                          ? 1
                          : core::utf8_sequence_length(text.data() + i, text.data() + text.size());
    if (len != 0) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out.push_back('?');
      ++i;
    }
    ++chars;
  }
  return out;
}

// ---- The merger ----

std::size_t StatementMerger::KeyHash::operator()(const StatementKey& k) const {
  // queryid is already a hash; mix in the rest.
  std::uint64_t h = static_cast<std::uint64_t>(k.queryid);
  h ^= (static_cast<std::uint64_t>(k.dbid) << 32 | k.userid) * 0x9E3779B97F4A7C15ULL;
  h ^= k.toplevel ? 0x632BE59BD9B4E019ULL : 0;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

std::size_t StatementMerger::GroupKeyHash::operator()(const GroupKey& k) const {
  std::uint64_t h = k.id;
  h ^= (static_cast<std::uint64_t>(k.dbid) << 32 | k.userid) * 0x9E3779B97F4A7C15ULL;
  h ^= k.merged ? 0x632BE59BD9B4E019ULL : 0;
  return static_cast<std::size_t>(h ^ (h >> 29));
}

StatementMerger::StatementMerger(MergeOptions options) : options_(options) {}

std::vector<std::int64_t> StatementMerger::unknown_queryids(std::span<const StatementRow> rows) {
  std::vector<std::int64_t> out;
  found_.resize(rows.size());
  found_rows_ = rows.data();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    auto it = members_.find(row.key);
    found_[i] = it == members_.end() ? nullptr : &it->second;
    if (found_[i] || texts_.find(row.key.queryid) != texts_.end()) continue;
    out.push_back(row.key.queryid);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void StatementMerger::add_text(std::int64_t queryid, const std::string_view* text) {
  auto [it, inserted] = texts_.try_emplace(queryid);
  if (!inserted) return;  // a statement's text never changes
  Text& entry = it->second;
  entry.seen = last_update_;
  if (!text) {  // unknown: exported as itself
    entry.hash = static_cast<std::uint64_t>(queryid);
    return;
  }
  auto canonical = canonicalize(*text);
  entry.hash = canonical.hash;
  entry.merged = canonical.merged;
  if (options_.keep_query) {
    entry.query =
        std::make_shared<const std::string>(cap_utf8(redact_sql(canonical.text), kQueryLabelChars));
  }
}

std::string_view StatementMerger::intern(std::string_view name) {
  auto it = names_.find(std::string(name));
  if (it == names_.end()) it = names_.emplace(name).first;
  return *it;
}

StatementGroup& StatementMerger::group_for(const StatementRow& row, const Text& text) {
  GroupKey key{text.merged ? text.hash : static_cast<std::uint64_t>(row.key.queryid), row.key.dbid,
               row.key.userid, text.merged};
  auto [it, inserted] = groups_.try_emplace(key);
  StatementGroup& g = it->second;
  if (inserted) {
    g.queryid = static_cast<std::int64_t>(key.id);
    g.datname = intern(row.datname);
    g.user = intern(row.user);
    g.text = text.query;
    g.labels = metrics::render_labels(
        {{"datname", g.datname}, {"user", g.user}, {"queryid", g.queryid_label()}});
  }
  ++g.members;
  return g;
}

namespace {

bool any_smaller(const StatementCounters& now, const StatementCounters& before) {
  return now.calls < before.calls || now.exec_ms < before.exec_ms || now.rows < before.rows ||
         now.read_ms < before.read_ms || now.write_ms < before.write_ms;
}

// to += a - b, per counter.
void add_difference(StatementCounters& to, const StatementCounters& a, const StatementCounters& b) {
  to.calls += a.calls - b.calls;
  to.exec_ms += a.exec_ms - b.exec_ms;
  to.rows += a.rows - b.rows;
  to.read_ms += a.read_ms - b.read_ms;
  to.write_ms += a.write_ms - b.write_ms;
}

}  // namespace

void StatementMerger::update(std::span<const StatementRow> rows, Clock::time_point now,
                             double reset_epoch) {
  ++scrape_;
  last_update_ = now;
  // A full pg_stat_statements_reset() since the last scrape: every run starts anew.
  bool full_reset = reset_epoch != 0 && reset_epoch_ != 0 && reset_epoch != reset_epoch_;
  if (reset_epoch != 0) reset_epoch_ = reset_epoch;

  // 1. This scrape's values per member (one entry may come in several rows).
  touched_.clear();
  // What unknown_queryids() found for these rows is still valid: only update() changes
  // members_.
  bool prepared = found_rows_ == rows.data() && found_.size() == rows.size();
  found_rows_ = nullptr;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const StatementRow& row = rows[i];
    Member* found = nullptr;
    if (prepared) {
      found = found_[i];
    } else if (auto it = members_.find(row.key); it != members_.end()) {
      found = &it->second;
    }
    if (!found) {
      auto text = texts_.find(row.key.queryid);
      if (text == texts_.end()) continue;  // text not read yet
      text->second.seen = now;
      auto [it, inserted] = members_.try_emplace(row.key);
      if (inserted) it->second.group = &group_for(row, text->second);
      found = &it->second;  // a second row of a new entry finds it here
    }
    Member& m = *found;
    m.seen = now;
    if (m.scrape != scrape_) {
      m.scrape = scrape_;
      m.slot = static_cast<std::uint32_t>(touched_.size());
      touched_.emplace_back(&m, row.counters);
    } else {
      StatementCounters& current = touched_[m.slot].second;
      current.calls += row.counters.calls;
      current.exec_ms += row.counters.exec_ms;
      current.rows += row.counters.rows;
      current.read_ms += row.counters.read_ms;
      current.write_ms += row.counters.write_ms;
    }
  }

  // 2. Members of the last scrape that are gone (evicted, reset): their run so far stays
  // in the group.
  for (Member* m : present_) {
    if (m->scrape == scrape_) continue;
    add_difference(m->group->base, m->last, m->start);
    m->present = false;
  }

  // 3. Each member's run, into its group's live part.
  current_.clear();
  live_.clear();
  present_.clear();
  for (auto& [m, current] : touched_) {
    present_.push_back(m);
    StatementGroup& g = *m->group;
    if (g.scrape != scrape_) {
      g.scrape = scrape_;
      g.seen = now;
      g.slot = static_cast<std::uint32_t>(current_.size());
      current_.push_back(&g);
      live_.emplace_back();
    }
    if (!m->present) {
      // New, or back after being absent: pg_stat_statements created the entry anew, so
      // its values count from zero (what it counted before is in base already).
      m->start = {};
    } else if (full_reset || any_smaller(current, m->last)) {
      add_difference(g.base, m->last, m->start);
      m->start = {};
    }
    m->last = current;
    m->present = true;
    add_difference(live_[g.slot], current, m->start);
  }

  // 4. What is exported: base + live, never below what was exported before (floating-point
  // sums of differences may wobble in the last bit; a counter must not).
  for (StatementGroup* g : current_) {
    const StatementCounters& live = live_[g->slot];
    auto settle = [](double& total, double base, double live_part) {
      total = std::max(total, base + live_part);
    };
    settle(g->total.calls, g->base.calls, live.calls);
    settle(g->total.exec_ms, g->base.exec_ms, live.exec_ms);
    settle(g->total.rows, g->base.rows, live.rows);
    settle(g->total.read_ms, g->base.read_ms, live.read_ms);
    settle(g->total.write_ms, g->base.write_ms, live.write_ms);
  }

  std::size_t capacity = std::max(options_.min_capacity, 2 * rows.size());
  if (now - last_sweep_ >= std::chrono::minutes(1) || members_.size() > capacity ||
      texts_.size() > capacity || groups_.size() > capacity) {
    sweep(now, capacity);
    last_sweep_ = now;
  }
}

namespace {

// Erases the entries `stale` picks, then, while more than capacity remain, the longest
// unseen of those `evictable` allows. `erase_hook` runs before each erase.
template <typename Map, typename Seen, typename Stale, typename Evictable, typename Hook>
void prune(Map& map, std::size_t capacity, Seen seen, Stale stale, Evictable evictable,
           Hook erase_hook) {
  for (auto it = map.begin(); it != map.end();) {
    if (stale(it->second)) {
      erase_hook(it->second);
      it = map.erase(it);
    } else {
      ++it;
    }
  }
  if (map.size() <= capacity) return;
  std::vector<typename Map::iterator> candidates;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (evictable(it->second)) candidates.push_back(it);
  }
  std::size_t excess = std::min(map.size() - capacity, candidates.size());
  std::nth_element(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(excess),
                   candidates.end(),
                   [&](const auto& a, const auto& b) { return seen(a->second) < seen(b->second); });
  for (std::size_t i = 0; i < excess; ++i) {
    erase_hook(candidates[i]->second);
    map.erase(candidates[i]);
  }
}

}  // namespace

void StatementMerger::sweep(Clock::time_point now, std::size_t capacity) {
  auto old = [&](Clock::time_point seen) { return now - seen > options_.forget_after; };
  // Members: only absent ones go; their group keeps what they counted.
  prune(
      members_, capacity, [](const Member& m) { return m.seen; },
      [&](const Member& m) { return !m.present && old(m.seen); },
      [](const Member& m) { return !m.present; }, [](Member& m) { --m.group->members; });
  // Groups: once no member is left to carry for.
  prune(
      groups_, capacity, [](const StatementGroup& g) { return g.seen; },
      [](const StatementGroup& g) { return g.members == 0; },
      [](const StatementGroup&) { return false; }, [](StatementGroup&) {});
  prune(
      texts_, capacity, [](const Text& t) { return t.seen; },
      [&](const Text& t) { return old(t.seen); }, [&](const Text& t) { return !(t.seen == now); },
      [](Text&) {});
}

std::vector<const StatementGroup*> StatementMerger::top(std::size_t limit, double min_calls) const {
  // Sorted on a copy of the key: no pointer chasing in the comparisons.
  std::vector<std::pair<double, const StatementGroup*>> order;
  order.reserve(current_.size());
  for (const StatementGroup* g : current_) {
    if (g->total.calls >= min_calls) order.emplace_back(g->total.exec_ms, g);
  }
  auto by_time = [](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first > b.first;
    const StatementGroup& x = *a.second;
    const StatementGroup& y = *b.second;
    if (x.datname != y.datname) return x.datname < y.datname;
    if (x.user != y.user) return x.user < y.user;
    return x.queryid < y.queryid;
  };
  if (limit != 0 && limit < order.size()) {
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(limit),
                      order.end(), by_time);
    order.resize(limit);
  } else {
    std::sort(order.begin(), order.end(), by_time);
  }
  std::vector<const StatementGroup*> out;
  out.reserve(order.size());
  for (const auto& entry : order)
    out.push_back(entry.second);
  return out;
}

}  // namespace afp::pg
