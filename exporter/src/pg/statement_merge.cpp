#include "pg/statement_merge.h"

#include <algorithm>
#include <charconv>

#include "core/ascii.h"
#include "core/utf8.h"
#include "metrics/text_writer.h"
#include "pg/sql_lexer.h"
#include "pg/sql_redact.h"

namespace afp::pg {

namespace {

using sql::is_space;
using sql::Tok;
using sql::Token;
using sql::word_is;

// ---- Which lists are parameter-like ----

// Recursive descent over the significant tokens (no spaces, no comments). Each parse
// function returns the index after what it accepted, or kFail.
constexpr std::size_t kFail = static_cast<std::size_t>(-1);

class ListParser {
 public:
  ListParser(std::string_view sql, const std::vector<Token>& tokens) : sql_(sql), t_(tokens) {}

  // IN ( item, ... ): i at the '('.
  std::size_t in_list(std::size_t i) const { return items(i, Tok::lparen, Tok::rparen, false); }

  // VALUES (item, ...), (item, ...): i at the first '('.
  std::size_t values_list(std::size_t i) const {
    for (;;) {
      i = items(i, Tok::lparen, Tok::rparen, false);
      if (i == kFail) return kFail;
      if (kind(i) != Tok::comma) return i;
      ++i;
      if (kind(i) != Tok::lparen) return kFail;
    }
  }

  bool word(std::size_t i, std::string_view keyword) const {
    return kind(i) == Tok::word && word_is(text(i), keyword);
  }
  Tok kind(std::size_t i) const { return i < t_.size() ? t_[i].kind : Tok::other; }

 private:
  std::string_view text(std::size_t i) const {
    return sql_.substr(t_[i].begin, t_[i].end - t_[i].begin);
  }

  // open item (, item)* close — or nothing between them when allow_empty.
  std::size_t items(std::size_t i, Tok open, Tok close, bool allow_empty) const {
    if (kind(i) != open) return kFail;
    ++i;
    if (allow_empty && kind(i) == close) return i + 1;
    for (;;) {
      i = item(i);
      if (i == kFail) return kFail;
      if (kind(i) == close) return i + 1;
      if (kind(i) != Tok::comma) return kFail;
      ++i;
    }
  }

  // unary* term postfix* (op unary* term postfix*)*
  std::size_t item(std::size_t i, int depth = 0) const {
    if (depth > 32) return kFail;  // deeply nested: not worth it
    for (;;) {
      while (kind(i) == Tok::op && (text(i) == "-" || text(i) == "+"))
        ++i;
      i = term(i, depth);
      if (i == kFail) return kFail;
      while (kind(i) == Tok::cast) {
        i = type_name(i + 1);
        if (i == kFail) return kFail;
      }
      if (kind(i) != Tok::op) return i;
      ++i;
    }
  }

  std::size_t term(std::size_t i, int depth) const {
    switch (kind(i)) {
      case Tok::param:
      case Tok::number:
      case Tok::string:
        return i + 1;
      case Tok::lparen: {  // (item) or a row (item, item)
        ++i;
        for (;;) {
          i = item(i, depth + 1);
          if (i == kFail) return kFail;
          if (kind(i) == Tok::rparen) return i + 1;
          if (kind(i) != Tok::comma) return kFail;
          ++i;
        }
      }
      case Tok::word:
        break;
      default:
        return kFail;
    }
    auto w = text(i);
    if (word_is(w, "null") || word_is(w, "true") || word_is(w, "false") || word_is(w, "default")) {
      return i + 1;
    }
    if (word_is(w, "cast") && kind(i + 1) == Tok::lparen) {
      i = item(i + 2, depth + 1);
      if (i == kFail || !word(i, "as")) return kFail;
      i = type_name(i + 1);
      return i != kFail && kind(i) == Tok::rparen ? i + 1 : kFail;
    }
    if (word_is(w, "array") && kind(i + 1) == Tok::lbracket) {
      return bracket_items(i + 1, depth);
    }
    for (auto keyword : {"select", "values", "with", "table", "exists", "not", "and", "or", "case",
                         "any", "all", "some", "in", "is", "like", "between"}) {
      if (word_is(w, keyword)) return kFail;
    }
    // A typed literal: date $1, interval '1 day'.
    if (kind(i + 1) == Tok::param || kind(i + 1) == Tok::string) return i + 2;
    // A function call, possibly schema-qualified: decode($1, $2), pg_catalog.lower($1).
    std::size_t j = i + 1;
    while (kind(j) == Tok::dot && (kind(j + 1) == Tok::word || kind(j + 1) == Tok::quoted))
      j += 2;
    if (kind(j) != Tok::lparen) return kFail;  // a column
    ++j;
    if (kind(j) == Tok::rparen) return j + 1;  // now()
    for (;;) {
      j = item(j, depth + 1);
      if (j == kFail) return kFail;
      if (kind(j) == Tok::rparen) return j + 1;
      if (kind(j) != Tok::comma) return kFail;
      ++j;
    }
  }

  std::size_t bracket_items(std::size_t i, int depth) const {
    // ARRAY[[[[...: one recursion per '[', so the depth is limited as in item().
    if (depth > 32) return kFail;
    ++i;  // '['
    if (kind(i) == Tok::rbracket) return i + 1;
    for (;;) {
      if (kind(i) == Tok::lbracket) {
        i = bracket_items(i, depth + 1);  // nested ARRAY[[...], [...]]
      } else {
        i = item(i, depth + 1);
      }
      if (i == kFail) return kFail;
      if (kind(i) == Tok::rbracket) return i + 1;
      if (kind(i) != Tok::comma) return kFail;
      ++i;
    }
  }

  // bytea, pg_catalog.int4, "char", character varying(10), timestamp(3) with time zone,
  // numeric(10, 2), int[], text[][]
  std::size_t type_name(std::size_t i) const {
    if (kind(i) != Tok::word && kind(i) != Tok::quoted) return kFail;
    ++i;
    while (kind(i) == Tok::dot && (kind(i + 1) == Tok::word || kind(i + 1) == Tok::quoted))
      i += 2;
    auto type_words = [&](std::size_t j) {
      while (kind(j) == Tok::word &&
             (word(j, "varying") || word(j, "precision") || word(j, "with") || word(j, "without") ||
              word(j, "time") || word(j, "zone")))
        ++j;
      return j;
    };
    i = type_words(i);
    if (kind(i) == Tok::lparen) {
      ++i;
      for (;;) {
        if (kind(i) != Tok::number && kind(i) != Tok::param) return kFail;
        ++i;
        if (kind(i) == Tok::rparen) break;
        if (kind(i) != Tok::comma) return kFail;
        ++i;
      }
      ++i;
      i = type_words(i);
    }
    while (kind(i) == Tok::lbracket) {
      ++i;
      if (kind(i) == Tok::number || kind(i) == Tok::param) ++i;
      if (kind(i) != Tok::rbracket) return kFail;
      ++i;
    }
    return i;
  }

  std::string_view sql_;
  const std::vector<Token>& t_;
};

// ---- Hashing and text output ----

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

struct Fnv {
  std::uint64_t h = kFnvOffset;
  void byte(char c) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  void bytes(std::string_view s) {
    for (char c : s)
      byte(c);
  }
  void token_end() { byte('\x1f'); }
};

void append_collapsed(std::string& out, std::string_view text) {
  bool in_space = false;
  for (char c : text) {
    if (is_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty() && out.back() != ' ') out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
}

}  // namespace

CanonicalText canonicalize(std::string_view sql) {
  auto tokens = sql::tokenize(sql);
  // The significant tokens, and where each list to collapse ends.
  std::vector<Token> sig;
  sig.reserve(tokens.size());
  for (const auto& t : tokens) {
    if (t.kind != Tok::space && t.kind != Tok::comment) sig.push_back(t);
  }
  ListParser parser(sql, sig);
  // collapse_end[i]: for the '(' at significant index i that opens a list to collapse,
  // the index after the list's last ')'.
  std::vector<std::size_t> collapse_end(sig.size(), 0);
  bool merged = false;
  for (std::size_t i = 0; i + 1 < sig.size(); ++i) {
    if (sig[i + 1].kind != Tok::lparen) continue;
    std::size_t end = kFail;
    if (parser.word(i, "in")) {
      end = parser.in_list(i + 1);
    } else if (parser.word(i, "values")) {
      end = parser.values_list(i + 1);
    }
    if (end != kFail) {
      collapse_end[i + 1] = end;
      merged = true;
      i = end - 1;  // nothing inside a collapsed list is looked at again
    }
  }

  CanonicalText out;
  out.merged = merged;
  out.text.reserve(std::min<std::size_t>(sql.size(), 4096));
  Fnv fnv;
  // Parameters renumbered (merged texts only): old number → new number. A hash map: a
  // text can hold a hundred thousand distinct parameters.
  std::unordered_map<std::uint64_t, std::uint64_t> renumbered;
  std::size_t s = 0;  // index into sig, in step with the walk over all tokens
  bool pending_space = false;
  auto put = [&](std::string_view text) {
    if (pending_space && !out.text.empty()) out.text.push_back(' ');
    pending_space = false;
    out.text.append(text);
  };
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    const Token& t = tokens[k];
    auto text = sql.substr(t.begin, t.end - t.begin);
    if (t.kind == Tok::space) {
      pending_space = true;
      continue;
    }
    if (t.kind == Tok::comment) {
      if (pending_space && !out.text.empty()) out.text.push_back(' ');
      pending_space = false;
      append_collapsed(out.text, text);
      continue;
    }
    // t is sig[s].
    if (std::size_t end = collapse_end[s]; end != 0) {
      put("(...)");
      fnv.bytes("(...)");
      fnv.token_end();
      // Skip every token up to the list's closing ')'.
      std::uint32_t stop = sig[end - 1].end;
      while (k + 1 < tokens.size() && tokens[k + 1].begin < stop)
        ++k;
      s = end;
      continue;
    }
    ++s;
    switch (t.kind) {
      case Tok::word:
        for (char c : text)
          fnv.byte(core::ascii_lower(c));
        put(text);
        break;
      case Tok::param: {
        fnv.byte('$');
        if (!merged) {
          put(text);
          break;
        }
        std::uint64_t old_number = 0;
        std::from_chars(text.data() + 1, text.data() + text.size(), old_number);
        auto number = renumbered.try_emplace(old_number, renumbered.size() + 1).first->second;
        put("$" + std::to_string(number));
        break;
      }
      default:
        fnv.bytes(text);
        put(text);
        break;
    }
    fnv.token_end();
  }
  out.hash = fnv.h;
  return out;
}

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
  if (options_.keep_query) entry.query = cap_utf8(redact_sql(canonical.text), kQueryLabelChars);
}

StatementGroup& StatementMerger::group_for(const StatementRow& row, const Text& text) {
  GroupKey key{text.merged ? text.hash : static_cast<std::uint64_t>(row.key.queryid), row.key.dbid,
               row.key.userid, text.merged};
  auto [it, inserted] = groups_.try_emplace(key);
  StatementGroup& g = it->second;
  if (inserted) {
    g.queryid = static_cast<std::int64_t>(key.id);
    g.queryid_label = std::to_string(g.queryid);
    g.datname = row.datname;
    g.user = row.user;
    g.query = text.query;
    g.labels = metrics::render_labels(
        {{"datname", g.datname}, {"user", g.user}, {"queryid", g.queryid_label}});
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
  present_.clear();
  for (auto& [m, current] : touched_) {
    present_.push_back(m);
    StatementGroup& g = *m->group;
    if (g.scrape != scrape_) {
      g.scrape = scrape_;
      g.seen = now;
      g.live = {};
      current_.push_back(&g);
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
    add_difference(g.live, current, m->start);
  }

  // 4. What is exported: base + live, never below what was exported before (floating-point
  // sums of differences may wobble in the last bit; a counter must not).
  for (StatementGroup* g : current_) {
    auto settle = [](double& total, double base, double live) {
      total = std::max(total, base + live);
    };
    settle(g->total.calls, g->base.calls, g->live.calls);
    settle(g->total.exec_ms, g->base.exec_ms, g->live.exec_ms);
    settle(g->total.rows, g->base.rows, g->live.rows);
    settle(g->total.read_ms, g->base.read_ms, g->live.read_ms);
    settle(g->total.write_ms, g->base.write_ms, g->live.write_ms);
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
