// The pure part of the pg_stat_statements collector: the query label text, merging with
// monotonic counters, top N, and the SQL chosen per PostgreSQL version.
#include "pg/statement_merge.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "core/utf8.h"
#include "dejavu_sql.h"
#include "pg/connection.h"
#include "pg/sql_canonical.h"
#include "pg/stat_statements.h"

using namespace afp::pg;
using namespace std::chrono_literals;
using afp::test::dejavu_lookup;

TEST_CASE("query label text: capped at 120 characters on a UTF-8 boundary", "[pg][statements]") {
  CHECK(cap_utf8("short", 120) == "short");
  CHECK(cap_utf8(std::string(300, 'a'), 120) == std::string(120, 'a'));
  std::string e_acute;
  for (int i = 0; i < 200; ++i)
    e_acute += "\xc3\xa9";
  auto capped = cap_utf8(e_acute, 120);
  CHECK(capped.size() == 240);
  CHECK(capped == e_acute.substr(0, 240));
  CHECK(cap_utf8(std::string(119, 'a') + "\xe2\x82\xac" + "b", 120) ==
        std::string(119, 'a') + "\xe2\x82\xac");
  CHECK(cap_utf8("a\xff"
                 "b\xc3",
                 120) == "a?b?");
  // Found by fuzzing (tests/fuzz/regressions/statement_merge/crash-4b43...): sequences of
  // the right shape that are still not UTF-8 passed through.
  CHECK(cap_utf8("\xf0\x82\xac\x8e", 120) == "????");              // overlong, 4 bytes
  CHECK(cap_utf8("\xe0\x80\xaf", 120) == "???");                   // overlong, 3 bytes
  CHECK(cap_utf8("\xed\xa0\x80", 120) == "???");                   // a UTF-16 surrogate
  CHECK(cap_utf8("\xf4\x90\x80\x80x", 120) == "????x");            // beyond U+10FFFF
  CHECK(cap_utf8("\xf0\x9f\x8e\xb5", 120) == "\xf0\x9f\x8e\xb5");  // U+1F3B5 stays
  // The stored label text is the canonical text, capped.
  std::string long_select = "SELECT " + std::string(200, 'x') + " FROM t WHERE a IN ($1)";
  StatementMerger m;
  std::string_view text = long_select;
  m.add_text(7, &text);
  StatementRow row{{7, 1, 10, true}, {1, 1, 1, 0, 0}, "db", "u"};
  m.update({&row, 1}, StatementMerger::Clock::now());
  auto top = m.top(0, 0);
  REQUIRE(top.size() == 1);
  CHECK(top[0]->query() == canonicalize(long_select).text.substr(0, 120));
}

TEST_CASE("query label text: bytes core/utf8.h refuses become '?', one per byte",
          "[pg][statements]") {
  CHECK(cap_utf8("\xe0\x80\x80", 120) == "???");       // overlong U+0000, 3 bytes
  CHECK(cap_utf8("\xed\xa0\x80", 120) == "???");       // the surrogate U+D800
  CHECK(cap_utf8("\xf5\x80\x80\x80", 120) == "????");  // no code point has lead F5
  CHECK(cap_utf8("\xf7\xbf\xbf\xbf", 120) == "????");  // nor F7
  for (const char* invalid : {"\xe0\x80\x80", "\xed\xa0\x80", "\xf5\x80\x80\x80"}) {
    INFO(invalid);
    CHECK(afp::core::valid_utf8(cap_utf8(invalid, 120)));
  }
}

TEST_CASE("query label text: the cap never splits a character", "[pg][statements]") {
  const std::string a119(119, 'a');
  // A 4-byte sequence cut short at the end of the text, or by an ASCII byte, is one
  // invalid byte at the cap: the cap is reached with it.
  CHECK(cap_utf8(a119 + "\xf0\x9f\x8e", 120) == a119 + "?");
  CHECK(cap_utf8(a119 + "\xf0\x9f\x8e" + "b", 120) == a119 + "?");
  CHECK(cap_utf8(a119 + "\xf0\x9f\x8e", 122) == a119 + "???");
  // Valid multibyte characters at the boundary: whole, or not at all.
  CHECK(cap_utf8(a119 + "\xf0\x9f\x8e\xb5" + "c", 120) == a119 + "\xf0\x9f\x8e\xb5");
  CHECK(cap_utf8(a119 + "a\xf0\x9f\x8e\xb5", 120) == a119 + "a");
  CHECK(cap_utf8(a119 + "\xed\x9f\xbf" + "c", 120) == a119 + "\xed\x9f\xbf");    // U+D7FF
  CHECK(cap_utf8(a119 + "\xf4\x8f\xbf\xbf", 120) == a119 + "\xf4\x8f\xbf\xbf");  // U+10FFFF
}

namespace {

struct Fixture {
  Fixture() = default;
  explicit Fixture(MergeOptions options) : merger(options) {}

  StatementMerger merger;
  StatementMerger::Clock::time_point now{std::chrono::hours(1)};
  std::vector<StatementRow> rows;

  void text(std::int64_t queryid, const std::string& sql) {
    std::string_view view = sql;
    merger.add_text(queryid, &view);
  }
  void row(std::int64_t queryid, double calls, double ms = 0, double n = 0, std::uint32_t dbid = 1,
           bool toplevel = true) {
    rows.push_back({{queryid, dbid, 10, toplevel},
                    {calls, ms, n, ms / 10, ms / 100},
                    dbid == 1 ? "fingerprints" : "other",
                    "afp"});
  }
  std::vector<const StatementGroup*> scrape(double reset_epoch = 0) {
    merger.update(rows, now, reset_epoch);
    rows.clear();
    now += 15s;
    return merger.top(0, 0);
  }
};

}  // namespace

TEST_CASE("merge: list lengths are one series under the canonical hash", "[pg][statements]") {
  Fixture f;
  for (int n = 1; n <= 3; ++n)
    f.text(100 + n, dejavu_lookup(n));
  f.text(200, "SELECT count(*) FROM songs");
  for (int n = 1; n <= 3; ++n)
    f.row(100 + n, n, 10.0 * n, 5.0 * n);
  f.row(200, 4, 1.5, 4);
  auto top = f.scrape();
  REQUIRE(top.size() == 2);
  const StatementGroup& lookups = *top[0];
  CHECK(lookups.queryid == static_cast<std::int64_t>(canonicalize(dejavu_lookup(1)).hash));
  CHECK(lookups.queryid_label() == std::to_string(lookups.queryid));
  CHECK(lookups.total.calls == 6);
  CHECK(lookups.total.exec_ms == Approx(60));
  CHECK(lookups.total.rows == 30);
  CHECK(lookups.total.read_ms == Approx(6));
  CHECK(lookups.datname == "fingerprints");
  CHECK(lookups.user == "afp");
  CHECK_THAT(std::string(lookups.query()), Catch::EndsWith("WHERE \"hash\" IN (...)"));
  // A statement without a list is itself, with its own queryid and exactly its values.
  const StatementGroup& count = *top[1];
  CHECK(count.queryid_label() == "200");
  CHECK(count.total.calls == 4);
  CHECK(count.total.exec_ms == 1.5);
  CHECK(count.query() == "SELECT count(*) FROM songs");
}

TEST_CASE("merge: texts are needed once, rows without text wait", "[pg][statements]") {
  Fixture f;
  f.row(1, 1);
  f.row(2, 1);
  f.row(2, 1, 0, 0, 1, false);  // the same statement, nested
  f.row(3, 1, 0, 0, 2);
  CHECK(f.merger.unknown_queryids(f.rows) == std::vector<std::int64_t>{1, 2, 3});
  f.text(1, "SELECT 1");
  f.text(2, "SELECT 2");
  CHECK(f.merger.unknown_queryids(f.rows) == std::vector<std::int64_t>{3});
  auto rows = f.rows;
  auto top = f.scrape();
  REQUIRE(top.size() == 2);  // 3 waits for its text
  CHECK(top[0]->queryid + top[1]->queryid == 3);
  for (const auto* g : top) {
    CHECK(g->total.calls == (g->queryid == 2 ? 2 : 1));  // toplevel and nested add up
  }
  // Known statements need no text again; 3 comes in later with everything it counted.
  f.rows = rows;
  f.rows.back().counters.calls = 5;
  f.text(3, "SELECT 3");
  CHECK(f.merger.unknown_queryids(f.rows).empty());
  top = f.scrape();
  REQUIRE(top.size() == 3);
  CHECK(f.merger.top(0, 5).size() == 1);
}

TEST_CASE("merge: counters stay monotonic when members are evicted and reset", "[pg][statements]") {
  Fixture f;
  f.text(1, dejavu_lookup(1));
  f.text(2, dejavu_lookup(2));
  auto calls = [&] {
    auto top = f.merger.top(0, 0);
    REQUIRE(top.size() == 1);
    return top[0]->total.calls;
  };
  f.row(1, 5, 50);
  f.row(2, 3, 30);
  f.scrape();
  CHECK(calls() == 8);
  // 2 evicted by pg_stat_statements: its 3 calls keep counting.
  f.row(1, 7, 70);
  f.scrape();
  CHECK(calls() == 10);
  // 2 comes back, a new entry counting from 0.
  f.row(1, 7, 70);
  f.row(2, 1, 10);
  f.scrape();
  CHECK(calls() == 11);
  // 1 shows smaller values: reset; its 7 calls are carried.
  f.row(1, 2, 20);
  f.row(2, 1, 10);
  f.scrape();
  CHECK(calls() == 13);
  CHECK(f.merger.top(0, 0)[0]->total.exec_ms == Approx(70 + 30 + 20 + 10));
  // Everything gone (pg_stat_statements_reset()): nothing exported, nothing lost.
  CHECK(f.scrape().empty());
  f.row(1, 1, 1);
  f.scrape();
  CHECK(calls() == 14);
  // A full reset seen in pg_stat_statements_info, though the values did not shrink.
  f.row(1, 1, 1);
  f.scrape(1000.0);
  CHECK(calls() == 14);
  f.row(1, 1, 1);
  f.scrape(2000.0);
  CHECK(calls() == 15);
}

TEST_CASE("merge: a single statement's values are exactly the view's", "[pg][statements]") {
  Fixture f;
  f.text(42, "SELECT * FROM songs WHERE song_id = $1");
  double ms = 0;
  for (int i = 1; i <= 50; ++i) {
    ms += 0.1 * i + 1e-7;
    f.row(42, i, ms, 3.0 * i);
    auto top = f.scrape();
    REQUIRE(top.size() == 1);
    CHECK(top[0]->total.exec_ms == ms);
    CHECK(top[0]->total.calls == i);
    CHECK(top[0]->queryid_label() == "42");
  }
}

TEST_CASE("merge: the same statement of two databases is two series", "[pg][statements]") {
  Fixture f;
  f.text(1, dejavu_lookup(1));
  f.text(2, dejavu_lookup(2));
  f.row(1, 1, 1, 0, 1);
  f.row(2, 1, 1, 0, 2);
  f.row(1, 1, 1, 0, 2);
  auto top = f.scrape();
  REQUIRE(top.size() == 2);
  CHECK(top[0]->queryid == top[1]->queryid);
  CHECK(top[0]->datname != top[1]->datname);
  CHECK(top[0]->total.calls + top[1]->total.calls == 3);
}

TEST_CASE("merge: groups share one copy of their names and of a text", "[pg][statements]") {
  MergeOptions options;
  options.keep_query = true;
  Fixture f(options);
  f.text(1, "SELECT 1 FROM songs");
  f.text(2, "SELECT 2 FROM songs WHERE song_id = $1");
  f.row(1, 1, 2, 0, 1);
  f.row(2, 1, 1, 0, 1);
  f.row(1, 1, 3, 0, 2);
  f.row(2, 1, 4, 0, 2);
  auto top = f.scrape();
  REQUIRE(top.size() == 4);
  auto of = [&](std::int64_t queryid, std::string_view datname) {
    for (const StatementGroup* g : top) {
      if (g->queryid == queryid && g->datname == datname) return g;
    }
    FAIL("no group " << queryid << " of " << datname);
    return top[0];
  };
  // The names: one copy per database and role, whatever the rows' views pointed into.
  CHECK(of(1, "fingerprints")->datname.data() == of(2, "fingerprints")->datname.data());
  CHECK(of(1, "other")->datname.data() == of(2, "other")->datname.data());
  CHECK(of(1, "fingerprints")->user.data() == of(2, "other")->user.data());
  // The text: one per queryid, in every database's group.
  CHECK(of(1, "fingerprints")->text == of(1, "other")->text);
  CHECK(of(2, "fingerprints")->query() == "SELECT 2 FROM songs WHERE song_id = $1");
  CHECK(of(1, "fingerprints")->queryid_label() == "1");
}

TEST_CASE("merge: top N by execution time after merging, and min calls", "[pg][statements]") {
  Fixture f;
  // Five list lengths of one look-up, each cheap, outweigh any single statement.
  for (int n = 1; n <= 5; ++n) {
    f.text(n, dejavu_lookup(n));
    f.row(n, 1, 10);
  }
  f.text(10, "SELECT 10");
  f.row(10, 100, 40);
  f.text(11, "SELECT 11");
  f.row(11, 2, 30);
  f.text(12, "SELECT 12");
  f.row(12, 0, 0);  // planned, never executed
  auto all = f.scrape();
  REQUIRE(all.size() == 4);
  CHECK(all[0]->total.exec_ms == 50);
  CHECK(all[1]->queryid == 10);
  CHECK(all[2]->queryid == 11);
  CHECK(all[3]->queryid == 12);
  auto two = f.merger.top(2, 1);
  REQUIRE(two.size() == 2);
  CHECK(two[0] == all[0]);
  CHECK(two[1] == all[1]);
  CHECK(f.merger.top(0, 1).size() == 3);
  auto busy = f.merger.top(10, 3);
  REQUIRE(busy.size() == 2);
  CHECK(busy[0]->total.calls == 5);
  CHECK(busy[1]->queryid == 10);
}

TEST_CASE("merge: long-unseen statements, groups and texts are forgotten", "[pg][statements]") {
  MergeOptions options;
  options.forget_after = std::chrono::minutes(10);
  options.min_capacity = 50;
  Fixture f(options);
  for (int i = 0; i < 40; ++i) {
    f.text(i, "SELECT " + std::to_string(i));
    f.row(i, 1);
  }
  f.scrape();
  CHECK(f.merger.statement_count() == 40);
  CHECK(f.merger.group_count() == 40);
  // Only 0 and 1 stay; after the limit the others go, texts too.
  for (int minute = 0; minute < 12; ++minute) {
    f.row(0, 1);
    f.row(1, 1 + minute);
    f.scrape();
    f.now += 1min;
  }
  CHECK(f.merger.statement_count() == 2);
  CHECK(f.merger.group_count() == 2);
  CHECK(f.merger.text_count() == 0);  // statements already known need no text
  // More statements than the capacity: the longest unseen go first, the present stay.
  for (int i = 100; i < 200; ++i) {
    f.text(i, "SELECT " + std::to_string(i));
    f.row(i, 1);
    f.row(0, 1);
    f.scrape();
  }
  CHECK(f.merger.statement_count() <= 50);
  f.row(0, 1);
  f.row(199, 1);
  CHECK(f.scrape().size() == 2);
  // A forgotten statement that comes back starts from its current values.
  f.row(5, 3);
  CHECK(f.merger.unknown_queryids(f.rows) == std::vector<std::int64_t>{5});
}

TEST_CASE("statements SQL per PostgreSQL version", "[pg][statements]") {
  const std::string pg13 =
      "{showtext,userid,dbid,queryid,query,plans,total_plan_time,min_plan_time,max_plan_time,"
      "mean_plan_time,stddev_plan_time,calls,total_exec_time,min_exec_time,max_exec_time,"
      "mean_exec_time,stddev_exec_time,rows,shared_blks_hit,shared_blks_read,"
      "shared_blks_dirtied,shared_blks_written,local_blks_hit,local_blks_read,"
      "local_blks_dirtied,local_blks_written,temp_blks_read,temp_blks_written,blk_read_time,"
      "blk_write_time,wal_records,wal_fpi,wal_bytes}";
  const std::string pg15 =
      "{showtext,userid,dbid,toplevel,queryid,query,plans,total_plan_time,min_plan_time,"
      "max_plan_time,mean_plan_time,stddev_plan_time,calls,total_exec_time,min_exec_time,"
      "max_exec_time,mean_exec_time,stddev_exec_time,rows,shared_blks_hit,shared_blks_read,"
      "shared_blks_dirtied,shared_blks_written,local_blks_hit,local_blks_read,"
      "local_blks_dirtied,local_blks_written,temp_blks_read,temp_blks_written,blk_read_time,"
      "blk_write_time,temp_blk_read_time,temp_blk_write_time,wal_records,wal_fpi,wal_bytes,"
      "jit_functions,jit_generation_time,jit_inlining_count,jit_inlining_time,"
      "jit_optimization_count,jit_optimization_time,jit_emission_count,jit_emission_time}";
  const std::string pg17 =
      "{showtext,userid,dbid,toplevel,queryid,query,plans,total_plan_time,min_plan_time,"
      "max_plan_time,mean_plan_time,stddev_plan_time,calls,total_exec_time,min_exec_time,"
      "max_exec_time,mean_exec_time,stddev_exec_time,rows,shared_blks_hit,shared_blks_read,"
      "shared_blks_dirtied,shared_blks_written,local_blks_hit,local_blks_read,"
      "local_blks_dirtied,local_blks_written,temp_blks_read,temp_blks_written,"
      "shared_blk_read_time,shared_blk_write_time,local_blk_read_time,local_blk_write_time,"
      "temp_blk_read_time,temp_blk_write_time,wal_records,wal_fpi,wal_bytes,jit_functions,"
      "jit_generation_time,jit_inlining_count,jit_inlining_time,jit_optimization_count,"
      "jit_optimization_time,jit_emission_count,jit_emission_time,jit_deform_count,"
      "jit_deform_time,stats_since,minmax_stats_since}";
  const std::string pg12 =
      "{showtext,userid,dbid,queryid,query,calls,total_time,min_time,max_time,mean_time,"
      "stddev_time,rows,shared_blks_hit,shared_blks_read,shared_blks_dirtied,"
      "shared_blks_written,local_blks_hit,local_blks_read,local_blks_dirtied,"
      "local_blks_written,temp_blks_read,temp_blks_written,blk_read_time,blk_write_time}";

  auto sql13 = statements_sql(pg13, "public", false, false, 130011);
  CHECK_THAT(sql13.counters,
             Catch::StartsWith("SELECT s.queryid, s.dbid, s.userid, true, s.calls, "
                               "s.total_exec_time, s.rows, s.blk_read_time, s.blk_write_time "
                               "FROM \"public\".pg_stat_statements(false) s WHERE"));
  CHECK_THAT(sql13.counters,
             Catch::EndsWith(" AND s.dbid = (SELECT oid FROM pg_database WHERE datname = "
                             "current_database())"));
  CHECK_THAT(sql13.counters, !Catch::Contains("JOIN") && !Catch::Contains("pg_get_userbyid"));
  CHECK(sql13.reset.empty());

  auto sql15 = statements_sql(pg15, "public", true, false, 150004);
  CHECK_THAT(sql15.counters, Catch::Contains("s.userid, s.toplevel, s.calls"));
  CHECK_THAT(sql15.counters, Catch::Contains("s.blk_read_time, s.blk_write_time FROM"));
  CHECK(sql15.reset ==
        "SELECT extract(epoch FROM stats_reset) FROM \"public\".pg_stat_statements_info");

  auto sql17 = statements_sql(pg17, "my \"ext\"", true, true, 170002);
  CHECK_THAT(sql17.counters,
             Catch::Contains("s.shared_blk_read_time + s.local_blk_read_time, "
                             "s.shared_blk_write_time + s.local_blk_write_time FROM "
                             "\"my \"\"ext\"\"\".pg_stat_statements(false)"));
  CHECK_THAT(sql17.counters, !Catch::Contains("current_database"));
  CHECK_THAT(sql17.counters, Catch::Contains(" AND s.dbid IN (SELECT oid FROM pg_database)"));
  CHECK_THAT(sql17.counters, !Catch::Contains("pg_roles"));  // no role left out by default

  auto without = statements_sql(pg15, "public", true, false, 150004, {"afp_faults", "o'neil"});
  const std::string excluded =
      " AND s.userid NOT IN (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname IN "
      "(E'afp_faults', E'o''neil'))";
  CHECK_THAT(without.counters, Catch::EndsWith(excluded));
  CHECK_THAT(texts_sql(without, std::vector<std::int64_t>{1}), Catch::Contains(excluded));

  CHECK_THROWS_WITH(
      statements_sql(pg12, "public", false, false, 120017),
      Catch::Contains("PostgreSQL 12.17") && Catch::Contains("needs PostgreSQL 13 or newer"));

  std::vector<std::int64_t> ids{5, -9223372036854775807LL - 1};
  auto texts = texts_sql(sql15, ids);
  CHECK_THAT(texts, Catch::StartsWith("SELECT s.queryid, s.query FROM \"public\"."
                                      "pg_stat_statements(true) s"));
  CHECK_THAT(texts, Catch::EndsWith(" AND s.queryid = ANY ('{5,-9223372036854775808}'::bigint[])"));
  CHECK_THAT(texts, Catch::Contains("current_database()"));
}

TEST_CASE("statements SQL: the names of new databases and roles in one query", "[pg][statements]") {
  std::vector<std::uint32_t> dbids{5, 16384};
  std::vector<std::uint32_t> userids{10};
  CHECK(names_sql(dbids, userids) ==
        "SELECT false, d.oid, d.datname FROM pg_database d WHERE d.oid = ANY ('{5,16384}'::oid[]) "
        "UNION ALL SELECT true, u, pg_get_userbyid(u) FROM unnest('{10}'::oid[]) AS u");
  CHECK_THAT(names_sql({}, userids), Catch::Contains("ANY ('{}'::oid[])"));
}

TEST_CASE("statements: the missing-extension message gives the lines that fix what is missing",
          "[pg][statements]") {
  CHECK(missing_extension_message("fingerprints", false, true) ==
        "pg_stat_statements is not installed in database \"fingerprints\": run CREATE EXTENSION "
        "pg_stat_statements; in that database as a superuser");
  CHECK(missing_extension_message("fingerprints", true, false) ==
        "pg_stat_statements is installed in database \"fingerprints\" but its library is not "
        "loaded: add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf "
        "(keeping any library already listed there) and restart PostgreSQL");
  CHECK(missing_extension_message("fingerprints", false, false) ==
        "pg_stat_statements is not installed in database \"fingerprints\" and its library is "
        "not loaded: add shared_preload_libraries = 'pg_stat_statements' to postgresql.conf "
        "(keeping any library already listed there), restart PostgreSQL, then run CREATE "
        "EXTENSION pg_stat_statements; in that database as a superuser");
  CHECK(missing_extension_message("fingerprints", true, true).empty());
}
