#pragma once

// The pure part of the pg_stat_statements collector (no libpq): the merger that folds
// statements whose texts have the same canonical form (pg/sql_canonical.h), i.e. differ only
// in the length of an IN (...) or VALUES list, into one series with monotonic counters.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace afp::pg {

// The at most this many characters of a statement text go into a query label.
inline constexpr std::size_t kQueryLabelChars = 120;

// At most max_chars UTF-8 characters of text (cut on a character boundary; each byte that
// starts no sequence core::utf8_sequence_length accepts (overlong forms, surrogates, code
// points beyond U+10FFFF, cut-short sequences) becomes one '?' character, so the result is
// always valid UTF-8).
std::string cap_utf8(std::string_view text, std::size_t max_chars);

// pg_stat_statements' counters of one entry, as PostgreSQL reports them (times in ms).
struct StatementCounters {
  double calls = 0;
  double exec_ms = 0;
  double rows = 0;
  double read_ms = 0;
  double write_ms = 0;
};

// One pg_stat_statements entry: its key in pg_stat_statements' hash table.
struct StatementKey {
  std::int64_t queryid = 0;
  std::uint32_t dbid = 0;
  std::uint32_t userid = 0;
  bool toplevel = true;
  bool operator==(const StatementKey&) const = default;
};

// One row of the counters query. The names are read only when a new series is created.
struct StatementRow {
  StatementKey key;
  StatementCounters counters;
  std::string_view datname;
  std::string_view user;
};

// One exported series: a group of pg_stat_statements entries of one database and user
// whose texts have the same canonical form, or a single entry without a list to collapse.
struct StatementGroup {
  // The queryid label. A statement without an IN/VALUES list to collapse keeps its own
  // queryid. A statement with one is exported under its canonical text's hash (as a
  // signed 64-bit decimal, like real queryids), even while it is the only list length
  // seen: that depends on nothing but the text, so the series keeps its label across
  // scrapes, exporter restarts, pg_stat_statements resets and new list lengths.
  std::int64_t queryid = 0;
  // Interned by the merger: one copy per distinct name, not one per group.
  std::string_view datname;
  std::string_view user;
  // The capped, redacted canonical text, for pg_stat_statements_query_id, shared with the
  // merger's text of each member; null unless MergeOptions::keep_query.
  std::shared_ptr<const std::string> text;
  // {datname="...",user="...",queryid="..."}, rendered once for metrics::TextWriter.
  std::string labels;
  StatementCounters total;  // what is exported: never decreases

  // Book-keeping (see StatementMerger::update).
  StatementCounters base;  // contributions of departed and reset members
  std::uint64_t scrape = 0;
  std::uint32_t slot = 0;  // its place in the merger's live part during update()
  std::chrono::steady_clock::time_point seen{};
  std::uint32_t members = 0;

  std::string queryid_label() const { return std::to_string(queryid); }
  std::string_view query() const { return text ? std::string_view(*text) : std::string_view(); }
};

struct MergeOptions {
  // Statements, groups and texts not seen for this long are forgotten (a group once all
  // its statements are); a group that comes back later starts from its current values.
  std::chrono::seconds forget_after{3600};
  // At most max(min_capacity, 2 × rows of the scrape) statements, texts and groups are
  // remembered; beyond that the longest unseen are forgotten first.
  std::size_t min_capacity = 20000;
  // Keep each statement's text for StatementGroup::query (pg_stat_statements_query_id);
  // without it only the canonical hash is kept.
  bool keep_query = true;
};

// Keeps the state across scrapes that merging needs. Not thread-safe (one owner).
//
// Each scrape: unknown_queryids(rows) names the statements whose text is still needed;
// the caller reads those texts (only those, once) and hands them to add_text(); update()
// then folds the rows into their groups, and top() picks what to export.
//
// Counters of a group stay monotonic: a member's values keep counting in its group after
// pg_stat_statements evicts it, and a member that comes back after being absent, or shows
// smaller values than last time, or is there after a full pg_stat_statements_reset() (the
// `reset_epoch` changes) starts a new run whose values add to what it counted before.
class StatementMerger {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StatementMerger(MergeOptions options = {});

  // The distinct queryids of rows that belong to no known statement and whose text is not
  // cached: their text is needed before update() can place them. Remembers what it found,
  // so that update() of the same rows looks each statement up only once.
  std::vector<std::int64_t> unknown_queryids(std::span<const StatementRow> rows);
  // The normalized text of a statement (pg_stat_statements(true)'s query column), or
  // nullptr when PostgreSQL has none (unreadable query file): then the statement is
  // exported as itself. Texts are kept until no new entry of that queryid shows up for
  // forget_after; texts already known are ignored.
  void add_text(std::int64_t queryid, const std::string_view* text);

  // Folds one scrape's rows into the groups. Rows whose text is unknown are left out (they
  // are counted, from their first call, once it is known). reset_epoch: when the whole
  // view was last reset (pg_stat_statements_info.stats_reset), 0 if unknown.
  void update(std::span<const StatementRow> rows, Clock::time_point now, double reset_epoch = 0);

  // Groups of the last update() with at least min_calls calls, the `limit` with the most
  // execution time first (0: all of them, still in that order).
  std::vector<const StatementGroup*> top(std::size_t limit, double min_calls) const;

  std::size_t statement_count() const { return members_.size(); }
  std::size_t group_count() const { return groups_.size(); }
  std::size_t text_count() const { return texts_.size(); }

 private:
  struct KeyHash {
    std::size_t operator()(const StatementKey& k) const;
  };
  struct GroupKey {
    std::uint64_t id = 0;  // queryid, or the canonical hash when merged
    std::uint32_t dbid = 0;
    std::uint32_t userid = 0;
    bool merged = false;
    bool operator==(const GroupKey&) const = default;
  };
  struct GroupKeyHash {
    std::size_t operator()(const GroupKey& k) const;
  };
  struct Text {
    std::uint64_t hash = 0;
    bool merged = false;
    std::shared_ptr<const std::string> query;  // capped; null unless keep_query
    Clock::time_point seen{};
  };
  struct Member {
    StatementGroup* group = nullptr;
    StatementCounters last;    // values at the last sighting
    StatementCounters start;   // values at the start of the current run (0, or a carry)
    std::uint64_t scrape = 0;  // last scrape it was in
    std::uint32_t slot = 0;    // its place in touched_ during update()
    Clock::time_point seen{};
    bool present = false;  // in the previous update: its run is in its group's live part
  };

  StatementGroup& group_for(const StatementRow& row, const Text& text);
  std::string_view intern(std::string_view name);
  void sweep(Clock::time_point now, std::size_t capacity);

  MergeOptions options_;
  std::unordered_map<std::int64_t, Text> texts_;
  // Database and role names of the groups; few, so never swept.
  std::unordered_set<std::string> names_;
  std::unordered_map<StatementKey, Member, KeyHash> members_;
  std::unordered_map<GroupKey, StatementGroup, GroupKeyHash> groups_;
  std::vector<Member*> present_;          // members of the last update
  std::vector<StatementGroup*> current_;  // groups of the last update
  // update(): each current_ group's live part, its members present in this scrape minus
  // their start values (a scratch, not 40 bytes in every group remembered).
  std::vector<StatementCounters> live_;
  std::vector<std::pair<Member*, StatementCounters>> touched_;  // this scrape's values
  std::vector<Member*> found_;  // unknown_queryids(): each row's member, or null
  const StatementRow* found_rows_ = nullptr;
  std::uint64_t scrape_ = 0;
  double reset_epoch_ = 0;
  Clock::time_point last_sweep_{};
  Clock::time_point last_update_{};
};

}  // namespace afp::pg
