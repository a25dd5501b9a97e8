// The advisor's judgement (pg/advisor.h) on synthetic snapshots, and `db` flag errors.
#include "pg/advisor.h"

#include <catch2/catch.hpp>
#include <sstream>

#include "cli/db.h"

using namespace afp::pg;
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

// A healthy Dejavu database: nothing to report.
DatabaseSnapshot healthy() {
  DatabaseSnapshot s;
  s.database = "fingerprints";
  s.user = "afp";
  s.server_version = 150000;
  s.blks_hit = 1'000'000;
  s.blks_read = 10;
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

TEST_CASE("advisor: the cache hit ratio is judged below 99 % once enough blocks were read",
          "[advisor]") {
  CHECK_FALSE(cache_ratio_low(9'900, 100));  // exactly 99 %
  CHECK(cache_ratio_low(9'899, 101));
  CHECK_FALSE(cache_ratio_low(0, kCacheMinBlocks));  // too few to judge
  CHECK(cache_ratio_low(0, kCacheMinBlocks + 1));
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

TEST_CASE("advisor: sequential look-ups despite the index are a warning", "[advisor]") {
  auto s = healthy();
  auto& fp = s.tables[0];
  fp.n_live_tup = kSeqScanMinRows;
  fp.seq_scan = kSeqScanMin;
  s.indexes[0].idx_scan = kSeqScanMin - 1;
  auto f = with_id(evaluate(s, kSettings), "hash_index_unused");
  REQUIRE(f.size() == 1);
  CHECK(f[0].severity == Severity::Warning);
  CHECK(f[0].evidence.at("seq_scan") == kSeqScanMin);
  s.indexes[0].idx_scan = kSeqScanMin;  // as many index scans: not mostly sequential
  CHECK(with_id(evaluate(s, kSettings), "hash_index_unused").empty());
  s.indexes[0].idx_scan = 0;
  fp.seq_scan = kSeqScanMin - 1;
  CHECK(with_id(evaluate(s, kSettings), "hash_index_unused").empty());
  fp.seq_scan = kSeqScanMin;
  fp.n_live_tup = kSeqScanMinRows - 1;  // a small table is fine to scan
  CHECK(with_id(evaluate(s, kSettings), "hash_index_unused").empty());
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

TEST_CASE("advisor: a low cache hit ratio is a warning", "[advisor]") {
  auto s = healthy();
  s.blks_hit = 9'000;
  s.blks_read = 1'000;
  auto f = evaluate(s, kSettings);
  REQUIRE(f.size() == 1);
  CHECK(f[0].id == "cache_hit_ratio");
  CHECK(f[0].severity == Severity::Warning);
  CHECK(f[0].evidence.at("hit_ratio") == 0.9);
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
