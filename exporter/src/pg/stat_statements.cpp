// pg_stat_statements: calls, execution time, rows and block I/O time per statement, with
// statements that differ only in the length of an IN (...) or VALUES list merged into one
// series (pg/statement_merge.h), the top --pg.statements.limit by execution time.
//
// Each scrape reads the counters without the query texts (pg_stat_statements(false): a
// few milliseconds for thousands of statements); texts, which cost far more to read, are
// read only for statements not seen before, in one query, and kept. Rows arrive one at a
// time (Connection::query_rows) and carry oids: names are read once per new oid.
#include "pg/stat_statements.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pg/excluded_roles.h"
#include "pg/query.h"
#include "pg/statement_merge.h"

namespace afp::pg {

namespace {

bool has_column(std::string_view proargnames, std::string_view name) {
  if (proargnames.starts_with('{')) proargnames.remove_prefix(1);
  if (proargnames.ends_with('}')) proargnames.remove_suffix(1);
  while (!proargnames.empty()) {
    auto comma = proargnames.find(',');
    auto item = proargnames.substr(0, comma);
    if (item == name) return true;
    if (comma == std::string_view::npos) break;
    proargnames.remove_prefix(comma + 1);
  }
  return false;
}

std::string quote_ident(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    out.push_back(c);
    if (c == '"') out.push_back('"');
  }
  out.push_back('"');
  return out;
}

std::string version_text(int server_version) {
  return std::to_string(server_version / 10000) + "." + std::to_string(server_version % 10000);
}

}  // namespace

StatementsSql statements_sql(std::string_view proargnames, std::string_view schema, bool has_info,
                             bool all_databases, int server_version,
                             const std::vector<std::string>& exclude_users) {
  if (!has_column(proargnames, "total_exec_time")) {
    throw PgError("pg_stat_statements has no total_exec_time column (PostgreSQL " +
                  version_text(server_version) + "; columns: " + std::string(proargnames) +
                  "): the collector needs PostgreSQL 13 or newer, and after an upgrade "
                  "ALTER EXTENSION pg_stat_statements UPDATE");
  }
  std::string read;
  std::string write;
  if (has_column(proargnames, "shared_blk_read_time")) {  // PostgreSQL 17
    read = "s.shared_blk_read_time";
    write = "s.shared_blk_write_time";
    if (has_column(proargnames, "local_blk_read_time")) {
      read += " + s.local_blk_read_time";
      write += " + s.local_blk_write_time";
    }
  } else {
    read = "s.blk_read_time";
    write = "s.blk_write_time";
  }
  std::string function = quote_ident(schema) + ".pg_stat_statements";
  std::string from = " s WHERE s.queryid IS NOT NULL";
  // As a join with pg_database did: a dropped database's entries, which pg_stat_statements
  // keeps until evicted, are left out (a hashed subplan: far cheaper than the join).
  from += all_databases
              ? " AND s.dbid IN (SELECT oid FROM pg_database)"
              : " AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())";
  from += excluded_roles_condition(exclude_users, "s.userid");
  StatementsSql sql;
  sql.counters = "SELECT s.queryid, s.dbid, s.userid, " +
                 std::string(has_column(proargnames, "toplevel") ? "s.toplevel" : "true") +
                 ", s.calls, s.total_exec_time, s.rows, " + read + ", " + write + " FROM " +
                 function + "(false)" + from;
  if (has_info) {
    sql.reset = "SELECT extract(epoch FROM stats_reset) FROM " + quote_ident(schema) +
                ".pg_stat_statements_info";
  }
  sql.texts = "SELECT s.queryid, s.query FROM " + function + "(true)" + from;
  return sql;
}

namespace {

template <typename Id>
std::string array_literal(std::span<const Id> ids, std::string_view type) {
  std::string out = "'{";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(ids[i]);
  }
  return out + "}'::" + std::string(type) + "[]";
}

}  // namespace

std::string texts_sql(const StatementsSql& sql, std::span<const std::int64_t> queryids) {
  return sql.texts + " AND s.queryid = ANY (" + array_literal(queryids, "bigint") + ")";
}

std::string names_sql(std::span<const std::uint32_t> dbids,
                      std::span<const std::uint32_t> userids) {
  return "SELECT false, d.oid, d.datname FROM pg_database d WHERE d.oid = ANY (" +
         array_literal(dbids, "oid") +
         ") UNION ALL SELECT true, u, pg_get_userbyid(u) FROM unnest(" +
         array_literal(userids, "oid") + ") AS u";
}

std::string missing_extension_message(std::string_view datname, bool installed, bool loaded) {
  const std::string where = " in database \"" + std::string(datname) + "\"";
  const std::string create =
      "run CREATE EXTENSION pg_stat_statements; in that database as a superuser";
  const std::string preload =
      "add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf (keeping any "
      "library already listed there)";
  if (!installed && loaded) return "pg_stat_statements is not installed" + where + ": " + create;
  if (installed && !loaded) {
    return "pg_stat_statements is installed" + where +
           " but its library is not loaded: " + preload + " and restart PostgreSQL";
  }
  if (!installed) {
    return "pg_stat_statements is not installed" + where +
           " and its library is not loaded: " + preload + ", restart PostgreSQL, then " + create;
  }
  return {};
}

namespace {

template <typename T>
T parse(std::string_view text) {
  T value{};
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

// Database and role names by oid, kept across scrapes so that the counters query need not
// name every row; read again at most once a minute, so a renamed database or role gets its
// new name in the series that appear after that, as it did when every row was named.
class OidNames {
 public:
  static constexpr auto kRefresh = std::chrono::minutes(1);

  // Forgets every name when the last reading is older than kRefresh.
  void expire(Clock::time_point now) {
    if (now - read_at_ < kRefresh) return;
    databases_.clear();
    roles_.clear();
    read_at_ = now;
  }

  // The oids of rows whose database or role has no name yet, distinct.
  void unknown(std::span<const StatementRow> rows, std::vector<std::uint32_t>& dbids,
               std::vector<std::uint32_t>& userids) const {
    for (const StatementRow& row : rows) {
      if (!databases_.contains(row.key.dbid)) dbids.push_back(row.key.dbid);
      if (!roles_.contains(row.key.userid)) userids.push_back(row.key.userid);
    }
    for (auto* oids : {&dbids, &userids}) {
      std::sort(oids->begin(), oids->end());
      oids->erase(std::unique(oids->begin(), oids->end()), oids->end());
    }
  }

  // Before the names are added: an oid that names_sql() does not return (a database
  // dropped since the counters query) stays nameless, and its rows are left out.
  void expect(std::span<const std::uint32_t> dbids, std::span<const std::uint32_t> userids) {
    for (auto oid : dbids)
      databases_.try_emplace(oid);
    for (auto oid : userids)
      roles_.try_emplace(oid);
  }
  void forget() {
    databases_.clear();
    roles_.clear();
  }
  void add(bool is_role, std::uint32_t oid, std::string_view name) {
    (is_role ? roles_ : databases_)[oid] = std::string(name);
  }

  // Names every row (views into this object, valid until the next expire()) and drops the
  // rows of databases that no longer exist.
  void name(std::vector<StatementRow>& rows) const {
    std::erase_if(rows, [&](StatementRow& row) {
      const auto& datname = databases_.at(row.key.dbid);
      const auto& user = roles_.at(row.key.userid);
      if (!datname || !user) return true;
      row.datname = *datname;
      row.user = *user;
      return false;
    });
  }

 private:
  std::unordered_map<std::uint32_t, std::optional<std::string>> databases_;
  std::unordered_map<std::uint32_t, std::optional<std::string>> roles_;
  Clock::time_point read_at_{};
};

struct Layout {
  int server_version = 0;
  std::string datname;
  StatementsSql sql;
};

struct Family {
  const char* name;
  const char* help;
  double StatementCounters::*value;
  double divisor;  // ms → s: dividing by 1000 rounds correctly, multiplying by 0.001 may not
};

constexpr Family kFamilies[] = {
    {"pg_stat_statements_calls_total", "Number of times the statement was executed.",
     &StatementCounters::calls, 1},
    {"pg_stat_statements_seconds_total", "Total time spent executing the statement, in seconds.",
     &StatementCounters::exec_ms, 1000},
    {"pg_stat_statements_rows_total",
     "Total number of rows retrieved or affected by the statement.", &StatementCounters::rows, 1},
    {"pg_stat_statements_block_read_seconds_total",
     "Total time the statement spent reading data file blocks, in seconds.",
     &StatementCounters::read_ms, 1000},
    {"pg_stat_statements_block_write_seconds_total",
     "Total time the statement spent writing data file blocks, in seconds.",
     &StatementCounters::write_ms, 1000},
};

MergeOptions merge_options(const StatementsSettings& settings) {
  MergeOptions options;
  options.keep_query = settings.include_query;
  return options;
}

// One collection's families as data, rendered as each scrape sends them: every exported
// series' label set and values in contiguous memory (the families read them sequentially,
// five times), the query_id family's label sets, and the self-metrics, already rendered.
// Immutable once built: scrapes of the collection may render it at the same time.
class StatementsText final : public metrics::DeferredText {
 public:
  struct Range {
    std::size_t begin = 0;
    std::size_t size = 0;
  };
  struct Line {
    Range labels;  // in label_sets
    double values[std::size(kFamilies)] = {};
  };

  std::vector<Line> lines;
  std::string label_sets;
  bool with_query_ids = false;
  std::vector<Range> query_ids;  // in query_label_sets
  std::string query_label_sets;
  std::string self_metrics;
  // afp_exporter_pg_statements_phase_seconds_total{phase="text"}, which rendering adds to.
  std::shared_ptr<std::atomic<std::uint64_t>> text_nanoseconds;

  void render(const Emit& emit) const override {
    std::string piece;
    piece.reserve(kPieceBytes + kPieceBytes / 4);
    metrics::TextWriter out(piece);
    Clock::duration rendering{};
    auto started = Clock::now();
    // The time emit takes (waiting for the previous piece to be written) is not rendering.
    auto hand_over = [&](bool last) {
      if (!last && piece.size() < kPieceBytes) return;
      rendering += Clock::now() - started;
      if (!piece.empty()) emit(piece);
      piece.clear();
      started = Clock::now();
    };
    for (std::size_t k = 0; k < std::size(kFamilies); ++k) {
      out.family(kFamilies[k].name, kFamilies[k].help, metrics::MetricType::Counter);
      for (const Line& line : lines) {
        out.sample_rendered(in(label_sets, line.labels), line.values[k]);
        hand_over(false);
      }
    }
    if (with_query_ids) {
      out.family("pg_stat_statements_query_id",
                 "The normalized text of each exported statement (IN and VALUES lists merged "
                 "as (...), at most 120 characters); always 1.",
                 metrics::MetricType::Gauge);
      for (const Range& id : query_ids) {
        out.sample_rendered(in(query_label_sets, id), 1);
        hand_over(false);
      }
    }
    piece += self_metrics;
    hand_over(true);
    text_nanoseconds->fetch_add(
        static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(rendering).count()),
        std::memory_order_relaxed);
  }

 private:
  static std::string_view in(const std::string& text, Range range) {
    return std::string_view(text).substr(range.begin, range.size);
  }
};

class StatStatementsQuery final : public PgQuery {
 public:
  explicit StatStatementsQuery(const StatementsSettings& settings)
      : settings_(settings), merger_(merge_options(settings)) {}

  // Writes nothing into `out`: its families are left as data (take_deferred()).
  void collect(Connection& conn, metrics::TextWriter& /*out*/,
               Clock::time_point deadline) override {
    if (!layout_ || layout_->server_version != conn.server_version()) {
      layout_ = detect(conn, deadline);
    }
    try {
      auto start = Clock::now();
      double merge_before = phases_.merge;
      read(conn, deadline);
      phases_.query += seconds_since(start) - (phases_.merge - merge_before);
    } catch (const PgError&) {
      // The extension dropped or updated, the server restarted without the library: look
      // again, so the error says which (detect throws that message), or is the query's own.
      layout_.reset();
      if (conn.connected()) layout_ = detect(conn, deadline);
      throw;
    }
    build_text();
  }

  std::shared_ptr<const metrics::DeferredText> take_deferred() override { return std::move(text_); }

 private:
  // Where the collections' time went, since the start, for
  // afp_exporter_pg_statements_phase_seconds_total.
  struct Phases {
    double query = 0;  // waiting on libpq, the rows' arrival and their parsing included
    double merge = 0;  // StatementMerger: finding new statements, folding the rows in
    // Gathering the families' data, and rendering it as scrapes send it: up to the
    // renderings over when the collection ends. Scrape threads add to it.
    std::shared_ptr<std::atomic<std::uint64_t>> text_nanoseconds =
        std::make_shared<std::atomic<std::uint64_t>>(0);
  };

  static double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  Layout detect(Connection& conn, Clock::time_point deadline) {
    auto r = conn.query(
        "SELECT current_database(), n.nspname, p.proargnames, EXISTS (SELECT FROM pg_class c "
        "WHERE c.relnamespace = e.extnamespace AND c.relname = 'pg_stat_statements_info'), "
        // The library defines its settings when preloaded; otherwise a value for one in
        // postgresql.conf is a placeholder, of type string.
        "COALESCE((SELECT vartype = 'integer' FROM pg_settings "
        "WHERE name = 'pg_stat_statements.max'), false) "
        "FROM (SELECT) AS one "
        "LEFT JOIN pg_extension e ON e.extname = 'pg_stat_statements' "
        "LEFT JOIN pg_namespace n ON n.oid = e.extnamespace "
        "LEFT JOIN pg_proc p ON p.pronamespace = e.extnamespace "
        "AND p.proname = 'pg_stat_statements' AND p.pronargs = 1",
        deadline);
    if (r.rows() < 1) throw PgError("reading pg_extension returned no row");
    Layout layout;
    layout.server_version = conn.server_version();
    layout.datname = std::string(r.value(0, 0));
    bool installed = !r.is_null(0, 1) && !r.is_null(0, 2);
    auto missing = missing_extension_message(layout.datname, installed, r.value(0, 4) == "t");
    if (!missing.empty()) throw PgError(missing);
    layout.sql =
        statements_sql(r.value(0, 2), r.value(0, 1), r.value(0, 3) == "t", settings_.all_databases,
                       layout.server_version, settings_.exclude_users);
    return layout;
  }

  void read(Connection& conn, Clock::time_point deadline) {
    double reset_epoch = 0;
    if (!layout_->sql.reset.empty()) {  // before the counters: see StatementMerger::update
      auto r = conn.query(layout_->sql.reset, deadline);
      if (r.rows() > 0 && !r.is_null(0, 0)) reset_epoch = parse<double>(r.value(0, 0));
    }
    rows_.clear();
    // Row by row: libpq never holds thousands of rows at once.
    conn.query_rows(layout_->sql.counters, deadline,
                    [&](const RowView& row) { rows_.push_back(parse_row(row)); });
    read_names(conn, deadline);
    auto merge_start = Clock::now();
    auto unknown = merger_.unknown_queryids(rows_);
    phases_.merge += seconds_since(merge_start);
    if (!unknown.empty()) {
      try {
        conn.query_rows(texts_sql(layout_->sql, unknown), deadline, [&](const RowView& row) {
          auto text = row.value(1);
          merger_.add_text(parse<std::int64_t>(row.value(0)), row.is_null(1) ? nullptr : &text);
        });
      } catch (const PgError& e) {
        throw PgError("reading the text of " + std::to_string(unknown.size()) +
                      " new statements: " + e.what());
      }
    }
    merge_start = Clock::now();
    merger_.update(rows_, StatementMerger::Clock::now(), reset_epoch);
    phases_.merge += seconds_since(merge_start);
  }

  StatementRow parse_row(const RowView& r) {
    StatementRow row;
    row.key.queryid = parse<std::int64_t>(r.value(0));
    row.key.dbid = parse<std::uint32_t>(r.value(1));
    row.key.userid = parse<std::uint32_t>(r.value(2));
    row.key.toplevel = r.value(3) == "t";
    row.counters.calls = static_cast<double>(parse<std::int64_t>(r.value(4)));
    row.counters.exec_ms = parse<double>(r.value(5));
    row.counters.rows = static_cast<double>(parse<std::int64_t>(r.value(6)));
    row.counters.read_ms = parse<double>(r.value(7));
    row.counters.write_ms = parse<double>(r.value(8));
    return row;
  }

  // Names the rows, reading the names of oids not seen before in one query.
  void read_names(Connection& conn, Clock::time_point deadline) {
    names_.expire(Clock::now());
    dbids_.clear();
    userids_.clear();
    names_.unknown(rows_, dbids_, userids_);
    if (!dbids_.empty() || !userids_.empty()) {
      try {
        names_.expect(dbids_, userids_);
        conn.query_rows(names_sql(dbids_, userids_), deadline, [&](const RowView& row) {
          names_.add(row.value(0) == "t", parse<std::uint32_t>(row.value(1)), row.value(2));
        });
      } catch (const PgError& e) {
        names_.forget();  // none half read
        throw PgError("reading the names of " + std::to_string(dbids_.size()) + " databases and " +
                      std::to_string(userids_.size()) + " roles: " + e.what());
      }
    }
    names_.name(rows_);
  }

  // This collection's StatementsText, for take_deferred().
  void build_text() {
    auto text = std::make_shared<StatementsText>();
    auto started = Clock::now();
    gather_lines(*text);
    if (settings_.include_query) gather_query_ids(*text);
    metrics::TextWriter self_metrics(text->self_metrics);
    write_self_metrics(self_metrics);
    text->text_nanoseconds = phases_.text_nanoseconds;
    // After the self-metrics: a collection's own gathering counts from the next one.
    phases_.text_nanoseconds->fetch_add(static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - started).count()));
    label_bytes_ = text->label_sets.size();
    groups_.clear();  // pointers into the merger, which the next collection changes
    text_ = std::move(text);
  }

  void write_self_metrics(metrics::TextWriter& out) const {
    out.family(
        "afp_exporter_pg_statements_remembered",
        "afp_exporter: Entries the pg_stat_statements collector's merge state holds: statements "
        "(pg_stat_statements entries), texts (normalized query texts), groups "
        "(exported series, present or remembered).",
        metrics::MetricType::Gauge);
    out.sample({{"kind", "groups"}}, static_cast<double>(merger_.group_count()));
    out.sample({{"kind", "statements"}}, static_cast<double>(merger_.statement_count()));
    out.sample({{"kind", "texts"}}, static_cast<double>(merger_.text_count()));
    out.family("afp_exporter_pg_statements_phase_seconds_total",
               "afp_exporter: Seconds the pg_stat_statements collections spent per phase: "
               "query (waiting on PostgreSQL, the rows' arrival included), merge, and text "
               "(gathering the families' data, and rendering it as scrapes send it; up to the "
               "renderings over when the collection ended).",
               metrics::MetricType::Counter);
    out.sample({{"phase", "merge"}}, phases_.merge);
    out.sample({{"phase", "query"}}, phases_.query);
    out.sample({{"phase", "text"}}, static_cast<double>(phases_.text_nanoseconds->load()) / 1e9);
  }

  // The exported groups, sorted by execution time (the most first), as label sets and values.
  void gather_lines(StatementsText& text) {
    groups_ = merger_.top(static_cast<std::size_t>(settings_.limit),
                          static_cast<double>(settings_.min_calls));
    // The groups live in hash-map nodes all over the heap, visited here in time order:
    // one pass gathers each one's label set and values into contiguous memory, so that
    // the five families read that sequentially instead of chasing every group five times
    // (cache misses were the largest cost of writing thousands of series).
    text.lines.reserve(groups_.size());
    text.label_sets.reserve(label_bytes_ + label_bytes_ / 8);
    for (const StatementGroup* g : groups_) {
      StatementsText::Line line;
      line.labels = {text.label_sets.size(), g->labels.size()};
      text.label_sets += g->labels;
      for (std::size_t k = 0; k < std::size(kFamilies); ++k) {
        line.values[k] = g->total.*kFamilies[k].value / kFamilies[k].divisor;
      }
      text.lines.push_back(line);
    }
  }

  // pg_stat_statements_query_id's label sets, as TextWriter::sample() writes them.
  void gather_query_ids(StatementsText& text) {
    text.with_query_ids = true;
    // One sample per queryid: the same statement of several users or databases has one text.
    std::stable_sort(groups_.begin(), groups_.end(),
                     [](const auto* a, const auto* b) { return a->queryid < b->queryid; });
    for (std::size_t i = 0; i < groups_.size(); ++i) {
      const StatementGroup* g = groups_[i];
      if (i > 0 && groups_[i - 1]->queryid == g->queryid) continue;
      std::string& out = text.query_label_sets;
      std::size_t begin = out.size();
      out += "{queryid=\"";
      metrics::append_escaped(out, g->queryid_label());
      out += "\",query=\"";
      metrics::append_escaped(out, g->query());
      out += "\"}";
      text.query_ids.push_back({begin, out.size() - begin});
    }
  }

  StatementsSettings settings_;
  std::optional<Layout> layout_;
  StatementMerger merger_;
  std::vector<StatementRow> rows_;
  OidNames names_;
  std::vector<std::uint32_t> dbids_;  // read_names(): the oids without a name yet
  std::vector<std::uint32_t> userids_;
  Phases phases_;
  std::vector<const StatementGroup*> groups_;   // gather_lines(): the exported groups
  std::size_t label_bytes_ = 0;                 // the last collection's label sets
  std::shared_ptr<const StatementsText> text_;  // the last collection's, for take_deferred()
};

}  // namespace

std::unique_ptr<PgQuery> make_stat_statements_query(const StatementsSettings& settings) {
  return std::make_unique<StatStatementsQuery>(settings);
}

}  // namespace afp::pg
