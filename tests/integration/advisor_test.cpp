// `db report` and `db optimize` against a Dejavu-schema database of 200,000 fingerprints on
// the test cluster, driven through run_db as the command line would.
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "db_cli.h"
#include "pg_test_db.h"

using namespace afp;
using namespace afp::test;
using json = nlohmann::json;

namespace {

const std::string kDatabase = "advisor_test";
constexpr const char* kCreateHashIndex =
    "CREATE INDEX CONCURRENTLY ix_fingerprints_hash ON fingerprints USING hash (hash);";

std::string password_of(const std::string& dsn) {
  std::smatch m;
  REQUIRE(std::regex_search(dsn, m, std::regex("://[^:]+:([^@]+)@")));
  return m[1];
}

// A fresh advisor_test database: Dejavu's schema, 200 songs × 1000 hashes, analyzed.
// Returns the exporter role's DSN (pg_monitor, owns the database but not the tables,
// which the superuser created: as in production, the exporter is not the table owner).
std::string fresh_dejavu() {
  auto dsn = test::fresh_database(kDatabase);
  test::load_dejavu(kDatabase, 200, 1000);
  return dsn;
}

}  // namespace

TEST_CASE("advisor: a clean Dejavu database has no warning or critical finding", "[advisor]") {
  auto dsn = fresh_dejavu();
  test::AdminSession admin(kDatabase);
  REQUIRE(admin.exists("SELECT count(*) >= 200000 FROM fingerprints"));

  auto r = report(dsn);
  CHECK(r.code == 0);
  CHECK(serious(r) == 0);
  CHECK(r.doc.at("database") == kDatabase);
  CHECK(r.doc.at("fingerprint_table") == "fingerprints");
  // The look-up index has no scans yet in a fresh database, and is still never "unused".
  for (const auto& f : findings(r, "unused_index"))
    CHECK(f.at("subject") != "public.ix_fingerprints_hash");

  auto text = db({"report"}, dsn);
  CHECK(text.code == 0);
  CHECK_THAT(text.out, Catch::Contains("database advisor_test"));

  auto plan = db({"optimize"}, dsn);
  CHECK(plan.code == 0);
  CHECK_THAT(plan.out, Catch::Contains("nothing to do"));
}

TEST_CASE("advisor: a dropped hash index is reported critical and recreated by optimize --apply",
          "[advisor]") {
  auto dsn = fresh_dejavu();
  auto admin_dsn = test::admin_dsn(kDatabase);
  test::AdminSession admin(kDatabase);
  admin.sql("DROP INDEX ix_fingerprints_hash");
  const std::string index_exists =
      "SELECT count(*) = 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
      "WHERE i.relname = 'ix_fingerprints_hash' AND x.indisvalid";

  auto r = report(dsn);
  CHECK(r.code == 1);
  auto missing = findings(r, "hash_index_missing");
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].at("severity") == "critical");
  CHECK(missing[0].at("fix_sql") == kCreateHashIndex);
  CHECK(missing[0].at("evidence").at("n_live_tup").get<long long>() >= 200000);
  auto text = db({"report"}, dsn);
  CHECK(text.code == 1);
  CHECK_THAT(text.out, Catch::Contains("CRITICAL") && Catch::Contains("ix_fingerprints_hash") &&
                           Catch::Contains(kCreateHashIndex));

  SECTION("a dry run lists the action and changes nothing") {
    auto plan = db({"optimize"}, admin_dsn);
    CHECK(plan.code == 1);
    CHECK_THAT(plan.out, Catch::Contains(kCreateHashIndex) && Catch::Contains("dry run"));
    CHECK_FALSE(admin.exists(index_exists));
  }

  SECTION("--apply by a role that does not own the table changes nothing") {
    auto run = db({"optimize", "--apply"}, dsn);
    CHECK(run.code == 2);
    CHECK_THAT(run.err, Catch::Contains("table owner"));
    CHECK_FALSE(admin.exists(index_exists));
  }

  SECTION("--apply by the owner recreates it, and a second run has nothing to do") {
    auto run = db({"optimize", "--apply"}, admin_dsn);
    CHECK(run.code == 0);
    CHECK_THAT(run.out, Catch::Contains(kCreateHashIndex) && Catch::Contains("done in"));
    CHECK(admin.exists(index_exists));
    CHECK(
        admin.exists("SELECT count(*) = 1 FROM pg_indexes WHERE indexname = "
                     "'ix_fingerprints_hash' AND indexdef LIKE '%USING hash (hash)'"));
    admin.flush_stats();

    auto after = report(dsn);
    CHECK(after.code == 0);
    CHECK(serious(after) == 0);

    auto again = db({"optimize", "--apply"}, admin_dsn);
    CHECK(again.code == 0);
    CHECK_THAT(again.out, Catch::Contains("nothing to do"));
    CHECK_THAT(again.out, !Catch::Contains("CREATE INDEX"));
  }
}

TEST_CASE("advisor: deleted songs without vacuum give dead-row and stale-statistics findings",
          "[advisor]") {
  auto dsn = fresh_dejavu();
  auto admin_dsn = test::admin_dsn(kDatabase);
  test::AdminSession admin(kDatabase);
  admin.sql("ALTER TABLE fingerprints SET (autovacuum_enabled = false)");
  admin.sql("ALTER TABLE songs SET (autovacuum_enabled = false)");
  admin.sql("DELETE FROM songs WHERE song_id <= 100");  // cascades to 100,000 fingerprints
  admin.flush_stats();
  admin.reset_statements();

  auto r = report(dsn);
  CHECK(r.code == 1);
  auto dead = findings(r, "dead_rows");
  REQUIRE(dead.size() == 1);  // songs has 100 dead rows: below the floor
  CHECK(dead[0].at("severity") == "warning");
  CHECK(dead[0].at("subject") == "public.fingerprints");
  CHECK(dead[0].at("fix_sql") == "VACUUM (ANALYZE) fingerprints;");
  CHECK(dead[0].at("evidence").at("n_dead_tup").get<long long>() >= 100000);
  CHECK(dead[0].at("evidence").at("dead_ratio").get<double>() > 0.4);
  CHECK(dead[0].at("evidence").at("autovacuum_enabled") == false);
  auto stale = findings(r, "stale_statistics");
  REQUIRE(stale.size() == 1);
  CHECK(stale[0].at("subject") == "public.fingerprints");
  CHECK(stale[0].at("fix_sql") == "ANALYZE fingerprints;");

  // One action covers both: VACUUM (ANALYZE) also analyzes.
  auto plan = db({"optimize"}, dsn);
  CHECK(plan.code == 1);
  CHECK_THAT(plan.out, Catch::Contains("VACUUM (ANALYZE) fingerprints;"));
  CHECK_THAT(plan.out, !Catch::Contains(". ANALYZE fingerprints;"));
  CHECK(findings(report(dsn), "dead_rows").size() == 1);  // the dry run changed nothing

  auto run = db({"optimize", "--apply"}, admin_dsn);
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("VACUUM (ANALYZE) fingerprints; ... done in"));
  auto after = report(dsn);
  CHECK(after.code == 0);
  CHECK(serious(after) == 0);
  auto again = db({"optimize", "--apply"}, admin_dsn);
  CHECK(again.code == 0);
  CHECK_THAT(again.out, Catch::Contains("nothing to do"));
}

TEST_CASE("advisor: an unused index is reported as info and never dropped by optimize",
          "[advisor]") {
  auto dsn = fresh_dejavu();
  test::AdminSession admin(kDatabase);
  admin.sql("CREATE INDEX ix_fingerprints_date ON fingerprints (date_created)");
  admin.flush_stats();

  auto r = report(dsn);
  CHECK(r.code == 0);  // info only
  auto unused = findings(r, "unused_index");
  REQUIRE(unused.size() == 1);
  CHECK(unused[0].at("severity") == "info");
  CHECK(unused[0].at("subject") == "public.ix_fingerprints_date");
  CHECK(unused[0].at("fix_sql") == "DROP INDEX CONCURRENTLY ix_fingerprints_date;");
  CHECK(unused[0].at("optimize").is_null());

  auto run = db({"optimize", "--apply"}, test::admin_dsn(kDatabase));
  CHECK(run.code == 0);
  CHECK_THAT(run.out, Catch::Contains("nothing to do") && !Catch::Contains("DROP"));
  CHECK(
      admin.exists("SELECT count(*) = 1 FROM pg_indexes WHERE indexname = 'ix_fingerprints_date'"));
}

TEST_CASE("advisor: an invalid index is reported and never reused as the hash index", "[advisor]") {
  auto dsn = fresh_dejavu();
  test::AdminSession admin(kDatabase);
  // Failed concurrent builds leave INVALID indexes: a duplicate hash makes a UNIQUE build
  // under the look-up index's name fail, and songs.fingerprinted is 1 everywhere.
  admin.sql("DROP INDEX ix_fingerprints_hash");
  admin.sql(
      "INSERT INTO fingerprints (hash, song_id, \"offset\") SELECT hash, song_id, \"offset\" + "
      "100000 FROM fingerprints WHERE song_id = 1 AND \"offset\" = 1");
  CHECK_THROWS_AS(admin.sql("CREATE UNIQUE INDEX CONCURRENTLY ix_fingerprints_hash ON "
                            "fingerprints (hash)"),
                  pg::PgError);
  CHECK_THROWS_AS(
      admin.sql("CREATE UNIQUE INDEX CONCURRENTLY ix_songs_broken ON songs (fingerprinted)"),
      pg::PgError);
  const std::string still_invalid =
      "SELECT count(*) = 1 FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
      "WHERE i.relname = 'ix_fingerprints_hash' AND NOT x.indisvalid";
  REQUIRE(admin.exists(still_invalid));
  admin.flush_stats();

  auto r = report(dsn);
  CHECK(r.code == 1);
  auto missing = findings(r, "hash_index_missing");  // the INVALID one does not count
  REQUIRE(missing.size() == 1);
  CHECK(missing[0].at("severity") == "critical");
  CHECK(missing[0].at("fix_sql") ==
        std::string("DROP INDEX CONCURRENTLY ix_fingerprints_hash; ") + kCreateHashIndex);
  CHECK(missing[0].at("optimize").is_null());
  CHECK(missing[0].contains("optimize_blocked"));
  auto invalid = findings(r, "invalid_index");
  REQUIRE(invalid.size() == 2);
  CHECK(invalid[0].at("subject") == "public.ix_fingerprints_hash");
  CHECK(invalid[1].at("subject") == "public.ix_songs_broken");
  CHECK(invalid[1].at("fix_sql") ==
        "DROP INDEX CONCURRENTLY ix_songs_broken; CREATE UNIQUE INDEX CONCURRENTLY "
        "ix_songs_broken ON public.songs USING btree (fingerprinted);");
  for (const auto& f : invalid)
    CHECK(f.at("severity") == "warning");

  // optimize neither builds over it nor drops it: the user decides.
  auto run = db({"optimize", "--apply"}, test::admin_dsn(kDatabase));
  CHECK(run.code == 1);
  CHECK_THAT(run.out, Catch::Contains("INVALID") && Catch::Contains("you decide"));
  CHECK_THAT(run.out, !Catch::Contains("done in"));
  CHECK(admin.exists(still_invalid));
  CHECK(admin.exists("SELECT count(*) = 1 FROM pg_class WHERE relname = 'ix_songs_broken'"));
}

TEST_CASE("advisor: no DSN, a bad DSN or a wrong password exit 2 without showing the password",
          "[advisor]") {
  auto good = test::cluster_file("dsn");
  auto password = password_of(good);

  auto none = db({"report"}, std::nullopt);
  CHECK(none.code == 2);
  CHECK_THAT(none.err, Catch::Contains("no PostgreSQL DSN"));
  CHECK(none.out.empty());

  auto bad = db({"report"}, "host=127.0.0.1 password=" + password + " = =");
  CHECK(bad.code == 2);
  CHECK_THAT(bad.err, Catch::Contains("not a valid"));
  CHECK_THAT(bad.err, !Catch::Contains(password));

  const std::string secret = "NotThePassword" + std::to_string(::getpid());
  auto wrong_dsn = std::regex_replace(good, std::regex("(://[^:]+:)[^@]+@"), "$1" + secret + "@");
  for (const char* verb : {"report", "optimize"}) {
    auto wrong = db({verb}, wrong_dsn);
    CHECK(wrong.code == 2);
    CHECK_THAT(wrong.err, Catch::Contains("password authentication failed"));
    CHECK_THAT(wrong.err, Catch::Contains("cannot connect to afp@127.0.0.1"));
    CHECK_THAT(wrong.err, !Catch::Contains(secret));
    CHECK(std::count(wrong.err.begin(), wrong.err.end(), '\n') == 1);
    CHECK(wrong.out.empty());
  }

  // The same through --pg.dsn-file.
  char path[] = "/tmp/afp_advisor_dsn_XXXXXX";
  int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(path) << wrong_dsn << "\n";
  auto from_file = db({"optimize", "--apply", "--pg.dsn-file", path}, std::nullopt);
  ::unlink(path);
  CHECK(from_file.code == 2);
  CHECK_THAT(from_file.err, Catch::Contains("password authentication failed"));
  CHECK_THAT(from_file.err, Catch::Contains("pg.dsn-file"));
  CHECK_THAT(from_file.err, !Catch::Contains(secret));

  // Errors after connecting do not show it either.
  auto missing_table = db({"report", "--fingerprint-table", "no_such_table"}, good);
  CHECK(missing_table.code == 2);
  CHECK_THAT(missing_table.err, Catch::Contains("no_such_table") && !Catch::Contains(password));
}
