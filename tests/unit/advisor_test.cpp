// The advisor's judgement (pg/advisor.h) on synthetic snapshots, and `db` flag errors.
#include "pg/advisor.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "cli/db.h"
#include "pg/text_comparison.h"

using namespace afp::pg;
using afp::core::Severity;
using std::chrono::hours;
using std::chrono::milliseconds;

namespace {

TableStats table(const std::string& name, std::int64_t live) {
  TableStats t;
  t.schema = "public";
  t.name = name;
  t.sql_name = name;
  t.n_live_tup = live;
  t.analyze_age_s = 60;
  t.autovacuum_age_s = 60;
  t.owner = true;
  t.can_maintain = true;
  return t;
}

IndexInfo index(const std::string& name, const std::string& table, const std::string& column,
                const std::string& method = "btree") {
  IndexInfo x;
  x.schema = "public";
  x.table = table;
  x.name = name;
  x.sql_name = name;
  x.table_sql_name = table;
  x.method = method;
  x.first_column = column;
  x.idx_scan = 100;
  x.definition =
      "CREATE INDEX " + name + " ON public." + table + " USING " + method + " (" + column + ")";
  return x;
}

// A window in which look-ups used the index: `seq` sequential scans, `lookups` index scans.
ScanWindow watched(std::int64_t seq, std::int64_t lookups) {
  ScanWindow w;
  w.seconds = 5;
  w.seq_scan = seq;
  w.seq_tup_read = seq * 200'000;
  w.idx_scan = w.lookup_idx_scan = lookups;
  w.statements_read = true;
  return w;
}

// A healthy Dejavu database: nothing to report.
DatabaseSnapshot healthy() {
  DatabaseSnapshot s;
  s.database = "fingerprints";
  s.user = "afp";
  s.server_version = 150000;
  s.fp_schema = "public";
  s.fp_table = "fingerprints";
  s.fp_schema_sql = "public";
  s.fp_sql_name = "fingerprints";
  s.hash_column = "hash";
  s.hash_column_sql = "hash";
  s.target_index = "ix_fingerprints_hash";
  s.target_index_sql = "ix_fingerprints_hash";
  s.target_name_taken = "index";
  s.tables = {table("fingerprints", 200'000), table("songs", 200)};
  s.indexes = {index("ix_fingerprints_hash", "fingerprints", "hash", "hash"),
               index("uq_fingerprints", "fingerprints", "song_id"),
               index("songs_pkey", "songs", "song_id")};
  s.indexes[1].unique = s.indexes[1].constraint = true;
  s.indexes[2].unique = s.indexes[2].primary = s.indexes[2].constraint = true;
  s.statements = std::vector<StatementStats>{};
  s.window = watched(0, 50);
  return s;
}

std::vector<Finding> with_id(const std::vector<Finding>& all, const std::string& id) {
  std::vector<Finding> out;
  for (const auto& f : all) {
    if (f.id == id) out.push_back(f);
  }
  return out;
}

const AdvisorSettings kSettings;

}  // namespace

TEST_CASE("advisor: statistics are stale above 10 % modified rows and the floor", "[advisor]") {
  auto t = table("t", 100'000);
  const milliseconds week = hours(24 * 7);
  t.n_mod_since_analyze = 10'000;  // exactly 10 %: not above
  CHECK_FALSE(statistics_stale(t, week));
  t.n_mod_since_analyze = 10'001;
  CHECK(statistics_stale(t, week));

  auto small = table("small", 100);
  small.n_mod_since_analyze = kStaleMinRows - 1;  // 999 % of the table, below the floor
  CHECK_FALSE(statistics_stale(small, week));
  small.n_mod_since_analyze = kStaleMinRows;
  CHECK(statistics_stale(small, week));
}

TEST_CASE("advisor: old statistics are stale only when rows changed since", "[advisor]") {
  const milliseconds week = hours(24 * 7);
  auto t = table("t", 100'000);
  t.analyze_age_s = 7 * 24 * 3600;  // exactly the limit: not older
  t.n_mod_since_analyze = 1;
  CHECK_FALSE(statistics_stale(t, week));
  t.analyze_age_s = 7 * 24 * 3600 + 1;
  CHECK(statistics_stale(t, week));
  t.n_mod_since_analyze = 0;  // unchanged: its statistics are exact, however old
  CHECK_FALSE(statistics_stale(t, week));

  t.analyze_age_s.reset();  // never analyzed
  CHECK(statistics_stale(t, week));
  auto tiny = table("tiny", kStaleMinRows - 1);
  tiny.analyze_age_s.reset();
  CHECK_FALSE(statistics_stale(tiny, week));
}

TEST_CASE("advisor: dead rows count from 10 % of all rows and the floor", "[advisor]") {
  // As status and the alert judge it: a threshold reached is a finding.
  auto t = table("t", 90'000);
  t.n_dead_tup = 9'999;
  CHECK_FALSE(dead_rows_high(t));
  t.n_dead_tup = 10'000;  // exactly 10 %
  CHECK(dead_rows_high(t));
  auto small = table("small", 10);
  small.n_dead_tup = kDeadMinRows - 1;
  CHECK_FALSE(dead_rows_high(small));
  small.n_dead_tup = kDeadMinRows;
  CHECK(dead_rows_high(small));
}

TEST_CASE("advisor: the cache hit ratio is judged below 99 % at 50 block accesses a second",
          "[advisor]") {
  CHECK_FALSE(cache_ratio_low(9'900, 100, 10));  // exactly 99 %
  CHECK(cache_ratio_low(9'899, 101, 10));
  // AfpPostgresCacheHitLow's and status's volume guard: 50 accesses a second.
  auto guard = afp::core::kCacheHitMinBlocksPerSecond;
  CHECK_FALSE(cache_ratio_low(0, static_cast<std::int64_t>(guard * 10) - 1, 10));
  CHECK(cache_ratio_low(0, static_cast<std::int64_t>(guard * 10), 10));
  CHECK_FALSE(cache_ratio_low(0, 1000, 0));  // no time: no rate
}

TEST_CASE("advisor: maintenance statements are not judged for their time", "[advisor]") {
  CHECK(is_maintenance_statement("VACUUM (ANALYZE) fingerprints"));
  CHECK(is_maintenance_statement("  create index concurrently ix on t using hash (h)"));
  CHECK(is_maintenance_statement("ANALYZE"));
  CHECK_FALSE(is_maintenance_statement("SELECT hash FROM fingerprints WHERE hash IN ($1)"));
  CHECK_FALSE(is_maintenance_statement("INSERT INTO fingerprints VALUES ($1)"));
  CHECK_FALSE(is_maintenance_statement("WITH x AS (SELECT 1) SELECT * FROM x"));
  CHECK_FALSE(is_maintenance_statement(""));
}

TEST_CASE("advisor: concurrently() rewrites an index definition", "[advisor]") {
  CHECK(concurrently("CREATE UNIQUE INDEX ix ON public.t USING btree (a)") ==
        "CREATE UNIQUE INDEX CONCURRENTLY ix ON public.t USING btree (a)");
  CHECK(concurrently("CREATE INDEX ix ON public.t USING hash (h)") ==
        "CREATE INDEX CONCURRENTLY ix ON public.t USING hash (h)");
}

TEST_CASE("advisor: a healthy snapshot gives no findings and exit 0", "[advisor]") {
  auto f = evaluate(healthy(), kSettings);
  CHECK(f.empty());
  CHECK(report_exit_code(f) == 0);
  auto plan = make_plan(f);
  CHECK(plan.actions.empty());
  CHECK(plan.blocked.empty());
}

TEST_CASE("advisor: a missing hash index is critical, with the CREATE INDEX as the action",
          "[advisor]") {
  auto s = healthy();
  s.indexes.erase(s.indexes.begin());
  s.target_name_taken = "";
  auto f = evaluate(s, kSettings);
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == "hash_index_missing");
  CHECK(f[0].severity == Severity::Critical);
  const std::string sql =
      "CREATE INDEX CONCURRENTLY ix_fingerprints_hash ON fingerprints USING hash (hash);";
  CHECK(f[0].fix_sql == sql);
  REQUIRE(f[0].action);
  CHECK(f[0].action->kind == ActionKind::CreateIndex);
  CHECK(f[0].action->sql == sql);
  CHECK(f[0].action->permitted);
  CHECK(report_exit_code(f) == 1);
  auto plan = make_plan(f);
  REQUIRE(plan.actions.size() == 1);
  CHECK(plan.actions[0].finding_ids == std::vector<std::string>{"hash_index_missing"});

  s.tables[0].owner = false;  // CREATE INDEX needs the table owner
  CHECK_FALSE(evaluate(s, kSettings)[0].action->permitted);
}

TEST_CASE("advisor: a partial, expression or non-leading index is not the look-up index",
          "[advisor]") {
  auto s = healthy();
  s.target_name_taken = "";
  s.indexes[0].partial = true;
  CHECK(with_id(evaluate(s, kSettings), "hash_index_missing").size() == 1);
  s.indexes[0].partial = false;
  s.indexes[0].method = "brin";
  CHECK(with_id(evaluate(s, kSettings), "hash_index_missing").size() == 1);
  s.indexes[0] = index("ix_fp", "fingerprints", "hash", "btree");  // a btree serves too
  CHECK(with_id(evaluate(s, kSettings), "hash_index_missing").empty());
  s.indexes[0].first_column = "";  // an expression
  CHECK(with_id(evaluate(s, kSettings), "hash_index_missing").size() == 1);
}

TEST_CASE("advisor: an INVALID index is reported, never the look-up index, and blocks the build",
          "[advisor]") {
  auto s = healthy();
  s.indexes[0].valid = false;
  s.target_name_taken = "invalid index";
  auto f = evaluate(s, kSettings);
  auto missing = with_id(f, "hash_index_missing");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].fix_sql ==
        "DROP INDEX CONCURRENTLY ix_fingerprints_hash; CREATE INDEX CONCURRENTLY "
        "ix_fingerprints_hash ON fingerprints USING hash (hash);");
  CHECK_FALSE(missing[0].blocked.empty());
  auto invalid = with_id(f, "invalid_index");
  REQUIRE(invalid.size() == 1);
  CHECK(invalid[0].severity == Severity::Warning);
  CHECK(invalid[0].fix_sql ==
        "DROP INDEX CONCURRENTLY ix_fingerprints_hash; CREATE INDEX CONCURRENTLY "
        "ix_fingerprints_hash ON public.fingerprints USING hash (hash);");
  CHECK_FALSE(invalid[0].action);
  CHECK(with_id(f, "unused_index").empty());
  auto plan = make_plan(f);
  CHECK(plan.actions.empty());
  REQUIRE(plan.blocked.size() == 1);
  CHECK(plan.blocked[0]->id == "hash_index_missing");

  // Another index under the target name: no build either.
  s.target_name_taken = "table";
  auto other = with_id(evaluate(s, kSettings), "hash_index_missing");
  REQUIRE(other.size() == 1);
  CHECK_FALSE(other[0].blocked.empty());
}

TEST_CASE("advisor: unused indexes are info, except unique, primary, constraint and look-up",
          "[advisor]") {
  auto s = healthy();
  for (auto& x : s.indexes)
    x.idx_scan = 0;
  s.indexes.push_back(index("ix_fp_date", "fingerprints", "date_created"));
  s.indexes.back().idx_scan = 0;
  s.indexes.push_back(index("ix_excl", "songs", "song_name"));
  s.indexes.back().idx_scan = 0;
  s.indexes.back().constraint = true;  // an exclusion constraint: not unique, still needed
  auto f = evaluate(s, kSettings);
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == "unused_index");
  CHECK(f[0].severity == Severity::Info);
  CHECK(f[0].subject == "public.ix_fp_date");
  CHECK(f[0].fix_sql == "DROP INDEX CONCURRENTLY ix_fp_date;");
  CHECK_FALSE(f[0].action);
  CHECK(report_exit_code(f) == 0);  // info only
}

TEST_CASE("advisor: scans are judged from the window, never from the counters since the reset",
          "[advisor]") {
  auto s = healthy();
  // The counters since the reset still hold the scans made before the index existed.
  s.tables[0].seq_scan = 504;
  s.tables[0].seq_tup_read = 504 * 200'000;
  s.indexes[0].idx_scan = 0;
  CHECK(evaluate(s, kSettings).empty());  // the window saw only index scans
  s.window.reset();  // not watched (optimize's check after its actions): not judged at all
  CHECK(evaluate(s, kSettings).empty());
}

TEST_CASE("advisor: sequential look-ups despite the index are a warning of unknown cause",
          "[advisor]") {
  auto s = healthy();
  s.window = watched(kWindowSeqScanMin, kWindowSeqScanMin - 1);
  auto f = with_id(evaluate(s, kSettings), "hash_index_unused");
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == Severity::Warning);
  CHECK(f[0].evidence.at("cause") == "unknown");
  CHECK(f[0].evidence.at("seq_scans_in_window") == kWindowSeqScanMin);
  CHECK(f[0].evidence.at("window_seconds") == 5.0);
  CHECK_THAT(f[0].note,
             Catch::Contains("No statement in pg_stat_statements") && Catch::Contains("EXPLAIN"));
  s.window->statements_read = false;
  CHECK_THAT(with_id(evaluate(s, kSettings), "hash_index_unused")[0].note,
             Catch::Contains("not checked"));

  s.window = watched(kWindowSeqScanMin, kWindowSeqScanMin);  // as many index scans
  CHECK(evaluate(s, kSettings).empty());
  s.window = watched(kWindowSeqScanMin - 1, 0);  // one ad-hoc scan
  CHECK(evaluate(s, kSettings).empty());
}

TEST_CASE("advisor: a small table scanned sequentially is the planner's choice, info only",
          "[advisor]") {
  auto s = healthy();
  s.tables[0].n_live_tup = kSeqScanMinRows - 1;
  s.window = watched(10, 0);
  auto f = evaluate(s, kSettings);
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == "seq_scan_small_table");
  CHECK(f[0].severity == Severity::Info);
  CHECK(f[0].evidence.at("cause") == "small_table");
  CHECK_THAT(f[0].note, Catch::Contains("nothing to do"));
  CHECK(report_exit_code(f) == 0);
}

TEST_CASE("advisor: look-ups comparing the hash as text are a type mismatch", "[advisor]") {
  auto s = healthy();
  s.window = watched(6, 0);
  s.window->text_lookups = {{"-42",
                             "SELECT song_id FROM fingerprints WHERE encode(hash, $1) IN "
                             "($2)",
                             3}};
  auto f = evaluate(s, kSettings);
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == "lookup_type_mismatch");
  CHECK(f[0].severity == Severity::Warning);
  CHECK(f[0].evidence.at("cause") == "type_mismatch");
  CHECK(f[0].evidence.at("queryids") == nlohmann::ordered_json::array({"-42"}));
  CHECK(f[0].evidence.at("calls_in_window") == 3);
  CHECK_THAT(f[0].evidence.at("query").get<std::string>(), Catch::Contains("encode(hash"));
  CHECK_THAT(f[0].note, Catch::Contains("decode($1, 'hex')"));
  s.tables[0].n_live_tup = 100;  // a bug even while the table is small
  CHECK(with_id(evaluate(s, kSettings), "lookup_type_mismatch").size() == 1);
  s.window->seq_scan = 0;  // the statement ran, but nothing was scanned sequentially
  CHECK(with_id(evaluate(s, kSettings), "lookup_type_mismatch").empty());
}

TEST_CASE("advisor: a window without scans, or with a reset, is said, not judged", "[advisor]") {
  auto s = healthy();
  s.tables[0].seq_scan = 504;  // history only
  s.window = watched(0, 0);
  auto f = evaluate(s, kSettings);
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == "lookups_not_judged");
  CHECK(f[0].severity == Severity::Info);
  CHECK_THAT(f[0].title, Catch::Contains("no scan of fingerprints during the 5.0 s window"));
  CHECK_FALSE(f[0].evidence.contains("cause"));
  CHECK(report_exit_code(f) == 0);

  s.window = watched(0, 0);
  s.window->counters_reset = true;
  auto reset = evaluate(s, kSettings);
  REQUIRE(reset.size() == 1);
  CHECK_THAT(reset[0].title, Catch::Contains("statistics were reset"));
}

TEST_CASE("advisor: a missing index is the cause named when there is no index to use",
          "[advisor]") {
  auto s = healthy();
  s.indexes.erase(s.indexes.begin());
  s.target_name_taken = "";
  s.window = watched(30, 0);
  auto f = evaluate(s, kSettings);
  REQUIRE(f.size() == 1);  // no second finding about the same scans
  CHECK(f[0].id == "hash_index_missing");
  CHECK(f[0].evidence.at("cause") == "missing_index");
  CHECK(f[0].evidence.at("seq_scans_in_window") == 30);
  s.window = watched(0, 0);  // judged from the catalog: even while nothing runs
  REQUIRE(evaluate(s, kSettings).size() == 1);
  CHECK(evaluate(s, kSettings)[0].id == "hash_index_missing");
}

TEST_CASE("advisor: the window is the difference of two samples", "[advisor]") {
  ScanSample before, after;
  after.taken = before.taken + std::chrono::milliseconds(2500);
  before.seq_scan = 504;
  after.seq_scan = 510;
  before.seq_tup_read = 100;
  after.seq_tup_read = 700;
  before.idx_scan = after.idx_scan = 9;
  before.lookup_idx_scan = 0;
  after.lookup_idx_scan = 4;
  before.statements_read = after.statements_read = true;
  before.text_lookups = {{"1", "q1", 10}, {"2", "q2", 5}, {"3", "q3", 7}};
  after.text_lookups = {{"1", "q1", 12}, {"2", "q2", 5}, {"3", "q3", 2}, {"4", "q4", 1}};
  auto w = window_between(before, after);
  CHECK(w.seconds == 2.5);
  CHECK(w.seq_scan == 6);
  CHECK(w.seq_tup_read == 600);
  CHECK(w.idx_scan == 0);
  CHECK(w.lookup_idx_scan == 4);
  CHECK_FALSE(w.counters_reset);
  CHECK(w.statements_read);
  // 1 ran twice; 2 not at all; 3 was reset and ran twice since; 4 is new.
  REQUIRE(w.text_lookups.size() == 3);
  CHECK((w.text_lookups[0].queryid == "1" && w.text_lookups[0].calls == 2));
  CHECK((w.text_lookups[1].queryid == "3" && w.text_lookups[1].calls == 2));
  CHECK((w.text_lookups[2].queryid == "4" && w.text_lookups[2].calls == 1));

  after.seq_scan = 3;  // pg_stat_reset() in between
  auto reset = window_between(before, after);
  CHECK(reset.counters_reset);
  CHECK(reset.seq_scan == 0);
  CHECK(reset.lookup_idx_scan == 0);
  before.statements_read = false;
  CHECK_FALSE(window_between(before, after).statements_read);
}

TEST_CASE("advisor: look-ups that compare a bytea column as text are recognised", "[advisor]") {
  auto text = [](std::string_view q) { return compares_column_as_text(q, "fingerprints", "hash"); };
  CHECK(text("SELECT song_id FROM fingerprints WHERE encode(hash, $1) IN ($2, $3)"));
  CHECK(text("select * from fingerprints where hash::text = $1"));
  CHECK(text("SELECT * FROM fingerprints f WHERE f.hash::pg_catalog.varchar = $1"));
  CHECK(text("SELECT * FROM public.fingerprints WHERE CAST(hash AS text) = $1"));
  CHECK(text("SELECT * FROM fingerprints WHERE upper(pg_catalog.encode(hash, 'hex')) = $1"));
  CHECK(text("SELECT 1 FROM songs s JOIN fingerprints f ON text(f.hash) = s.h"));
  CHECK(text("SELECT * FROM \"fingerprints\" WHERE \"hash\"::text = $1"));
  CHECK(text("SELECT * FROM FINGERPRINTS WHERE HASH::TEXT = $1"));  // unquoted: folded

  // The look-up as Dejavu writes it, and the select list's conversion, are not.
  CHECK_FALSE(
      text("SELECT upper(encode(hash, $1)), song_id, \"offset\" FROM fingerprints "
           "WHERE hash IN (decode($2, $3), decode($4, $5))"));
  CHECK_FALSE(text("SELECT * FROM fingerprints WHERE hash = $1::bytea"));
  CHECK_FALSE(text("SELECT * FROM fingerprints WHERE hash::bytea = $1"));
  CHECK_FALSE(text("UPDATE fingerprints SET song_id = song_id WHERE get_byte(hash, 0) = $1"));
  CHECK_FALSE(text("SELECT * FROM songs WHERE hash::text = $1"));             // another table
  CHECK_FALSE(text("SELECT * FROM fingerprints WHERE song_id::text = $1"));   // another column
  CHECK_FALSE(text("SELECT * FROM \"Fingerprints\" WHERE hash::text = $1"));  // quoted: exact
  CHECK_FALSE(text("SELECT * FROM fingerprints WHERE note = 'hash::text'"));  // a string
  CHECK_FALSE(text("SELECT * FROM fingerprints -- WHERE hash::text = $1"));   // a comment
  CHECK_FALSE(text(""));
  CHECK_FALSE(text("WHERE hash::"));  // cut short: no crash
}

TEST_CASE("advisor: one VACUUM (ANALYZE) per table covers stale statistics and dead rows",
          "[advisor]") {
  auto s = healthy();
  auto& fp = s.tables[0];
  fp.n_dead_tup = 100'000;
  fp.n_mod_since_analyze = 100'000;
  fp.autovacuum_enabled = false;
  s.tables[1].n_mod_since_analyze = 5'000;  // songs: stale only
  auto f = evaluate(s, kSettings);
  REQUIRE(with_id(f, "dead_rows").size() == 1);
  CHECK(with_id(f, "dead_rows")[0].fix_sql == "VACUUM (ANALYZE) fingerprints;");
  CHECK_THAT(with_id(f, "dead_rows")[0].note, Catch::Contains("autovacuum_enabled = false"));
  REQUIRE(with_id(f, "stale_statistics").size() == 2);
  auto plan = make_plan(f);
  REQUIRE(plan.actions.size() == 2);
  CHECK(plan.actions[0].action.sql == "VACUUM (ANALYZE) fingerprints;");
  CHECK(plan.actions[0].finding_ids.size() == 2);
  CHECK(plan.actions[1].action.sql == "ANALYZE songs;");
}

TEST_CASE("advisor: statement mean times are judged against 1 s and 3 s", "[advisor]") {
  auto s = healthy();
  auto statement = [](const std::string& id, double mean, const std::string& query) {
    StatementStats st;
    st.queryid = id;
    st.mean_seconds = mean;
    st.calls = 10;
    st.query = query;
    return st;
  };
  s.statements = std::vector<StatementStats>{
      statement("1", 0.999, "SELECT 1"), statement("2", 1.0, "SELECT 2"),
      statement("3", 3.0, "SELECT 3"), statement("4", 30.0, "VACUUM fingerprints")};
  auto f = with_id(evaluate(s, kSettings), "slow_statement");
  REQUIRE(f.size() == 2);
  CHECK(f[0].subject == "3");
  CHECK(f[0].severity == Severity::Critical);
  CHECK(f[1].subject == "2");
  CHECK(f[1].severity == Severity::Warning);

  s.statements.reset();
  s.statements_unavailable = "the pg_stat_statements extension is not installed";
  auto missing = evaluate(s, kSettings);
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].id == "pg_stat_statements_missing");
  CHECK(missing[0].severity == Severity::Info);
  CHECK(missing[0].fix_sql == "CREATE EXTENSION pg_stat_statements;");
}

TEST_CASE("advisor: a low cache hit ratio within the window is a warning", "[advisor]") {
  auto s = healthy();
  s.window->blks_hit = 9'000;
  s.window->blks_read = 1'000;
  auto f = evaluate(s, kSettings);
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == "cache_hit_ratio");
  CHECK(f[0].severity == Severity::Warning);
  CHECK(f[0].evidence.at("hit_ratio") == 0.9);
  CHECK(f[0].evidence.at("blocks_per_second") == 2000);

  SECTION("not the templates, as the alert and status") {
    s.database = "template1";
    CHECK(evaluate(s, kSettings).empty());
  }
  SECTION("in the first 15 minutes after PostgreSQL started, said but not judged") {
    s.server_uptime_s = afp::core::kCacheHitSettleSeconds - 1;
    auto early = evaluate(s, kSettings);
    REQUIRE(early.size() == 1);
    CHECK(early[0].id == "cache_hit_not_judged");
    CHECK(early[0].severity == Severity::Info);
    CHECK_THAT(early[0].title, Catch::Contains("is 90.0 %, but PostgreSQL started 899 s ago"));
    CHECK(early[0].evidence.at("server_uptime_seconds") == 899);
    s.server_uptime_s = afp::core::kCacheHitSettleSeconds;
    CHECK(evaluate(s, kSettings).at(0).id == "cache_hit_ratio");
    auto shortened = kSettings;  // db --pg.cache-settle, for rules with shortened timings
    shortened.cache_settle = std::chrono::seconds(60);
    s.server_uptime_s = 60;
    CHECK(evaluate(s, shortened).at(0).id == "cache_hit_ratio");
    s.server_uptime_s = 59;
    CHECK(evaluate(s, shortened).at(0).id == "cache_hit_not_judged");
  }
  SECTION("not without a window, nor across a statistics reset") {
    auto reset = s;
    reset.window->counters_reset = true;
    for (const auto& finding : evaluate(reset, kSettings))
      CHECK(finding.id != "cache_hit_ratio");
    s.window.reset();
    CHECK(evaluate(s, kSettings).empty());
  }
}

TEST_CASE("db: bad verbs and flags exit 2 before connecting", "[advisor]") {
  auto run = [](std::vector<std::string> args) {
    std::ostringstream out, err;
    int code = afp::cli::run_db(args, out, err);
    return std::tuple{code, out.str(), err.str()};
  };
  for (const auto& args :
       std::vector<std::vector<std::string>>{{},
                                             {"frobnicate"},
                                             {"report", "--format", "xml"},
                                             {"report", "--apply"},
                                             {"optimize", "--format", "json"},
                                             {"report", "--timeout", "soon"},
                                             {"report", "--stale-analyze-age", "7d"},
                                             {"report", "--pg.cache-settle", "soon"},
                                             {"report", "--window", "0s"},
                                             {"report", "--window", "500ms"},
                                             {"optimize", "--window", "11m"},
                                             {"report", "--window", "soon"},
                                             {"report", "--fingerprint-table"},
                                             {"report", "extra"},
                                             {"report", "--no-such-flag"}}) {
    auto [code, out, err] = run(args);
    INFO(err);
    CHECK(code == 2);
    CHECK(out.empty());
    CHECK_FALSE(err.empty());
  }
  auto [code, out, err] = run({});
  CHECK_THAT(err, Catch::Contains("usage: afp_exporter db report"));
  auto [help_code, help, help_err] = run({"--help"});
  CHECK(help_code == 0);
  CHECK_THAT(help, Catch::Contains("db optimize [--apply]"));
}
