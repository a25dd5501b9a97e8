// The canonical form of pg_stat_statements texts: which IN and VALUES lists collapse, the
// hash and the text for people.
#include "pg/sql_canonical.h"

#include <catch2/catch.hpp>
#include <string>

#include "dejavu_sql.h"

using namespace afp::pg;
using afp::test::dejavu_insert;
using afp::test::dejavu_lookup;

namespace {

bool same(std::string_view a, std::string_view b) {
  auto ca = canonicalize(a);
  auto cb = canonicalize(b);
  INFO(a << "\n  -> " << ca.text << "\n" << b << "\n  -> " << cb.text);
  return ca.merged && cb.merged && ca.hash == cb.hash;
}

void expect_collapsed(std::string_view sql, std::string_view expected) {
  auto c = canonicalize(sql);
  INFO(sql);
  CHECK(c.merged);
  CHECK(c.text == expected);
}

void expect_kept(std::string_view sql) {
  auto c = canonicalize(sql);
  INFO(sql << "\n  -> " << c.text);
  CHECK_FALSE(c.merged);
  CHECK(c.text.find("(...)") == std::string::npos);
}

}  // namespace

TEST_CASE("canonical text: Dejavu look-ups of 1 to 1000 hashes are one statement",
          "[pg][statements]") {
  auto one = canonicalize(dejavu_lookup(1));
  CHECK(one.merged);
  CHECK(one.text ==
        "SELECT upper(encode(\"hash\", $1)), \"song_id\", \"offset\" FROM \"fingerprints\" "
        "WHERE \"hash\" IN (...)");
  for (int n : {2, 3, 17, 999, 1000}) {
    auto c = canonicalize(dejavu_lookup(n));
    INFO(n);
    CHECK(c.merged);
    CHECK(c.hash == one.hash);
    CHECK(c.text == one.text);
  }
}

TEST_CASE("canonical text: VALUES lists of any length are one statement", "[pg][statements]") {
  expect_collapsed(dejavu_insert(1),
                   "INSERT INTO fingerprints (hash, song_id, \"offset\") VALUES (...) ON CONFLICT "
                   "(song_id, \"offset\", hash) DO NOTHING");
  CHECK(same(dejavu_insert(1), dejavu_insert(2)));
  CHECK(same(dejavu_insert(1), dejavu_insert(1000)));
  expect_collapsed("INSERT INTO t VALUES ($1, DEFAULT, NULL), ($2, DEFAULT, NULL) RETURNING id",
                   "INSERT INTO t VALUES (...) RETURNING id");
  expect_collapsed("SELECT * FROM (VALUES ($1, $2), ($3, $4)) AS v(a, b)",
                   "SELECT * FROM (VALUES (...)) AS v(a, b)");
  CHECK(same("SELECT * FROM (VALUES ($1)) v(a) JOIN t ON t.a = v.a",
             "SELECT * FROM (VALUES ($1), ($2), ($3)) v(a) JOIN t ON t.a = v.a"));
}

TEST_CASE("canonical text: parameter-like items", "[pg][statements]") {
  expect_collapsed("SELECT * FROM t WHERE a IN ($1::bytea, $2::bytea)",
                   "SELECT * FROM t WHERE a IN (...)");
  expect_collapsed(
      "SELECT 1 WHERE a IN (CAST($1 AS bigint), $2::character varying(10), "
      "$3::timestamp with time zone, $4::int[], $5::pg_catalog.\"char\")",
      "SELECT 1 WHERE a IN (...)");
  expect_collapsed(
      "SELECT 1 WHERE a IN (-$1, $2 || $3, date $4, interval '1 day', 42, 1.5e-3, "
      "'text', NULL, TRUE, false, E'it''s\\'', now(), pg_catalog.lower($5))",
      "SELECT 1 WHERE a IN (...)");
  expect_collapsed("SELECT 1 WHERE (a, b) IN (($1, $2), ($3, $4))",
                   "SELECT 1 WHERE (a, b) IN (...)");
  expect_collapsed("SELECT 1 WHERE a IN (ARRAY[$1, $2], ARRAY[[$3], [$4]])",
                   "SELECT 1 WHERE a IN (...)");
  expect_collapsed("select 1 where a not in ($1)", "select 1 where a not in (...)");
  // Nested parentheses.
  expect_collapsed("SELECT 1 WHERE x IN (f(g($1), ($2)), (($3)), decode(upper($4), $5))",
                   "SELECT 1 WHERE x IN (...)");
  // PostgreSQL 18 squashes lists itself as "$1 /*, ... */": still one statement.
  CHECK(same("SELECT 1 WHERE a IN ($1 /*, ... */)", "SELECT 1 WHERE a IN ($1, $2)"));
}

TEST_CASE("canonical text: parameters after a list are renumbered", "[pg][statements]") {
  expect_collapsed("SELECT * FROM t WHERE a = $1 AND b IN ($2, $3, $4) AND c = $5 OR d = $1",
                   "SELECT * FROM t WHERE a = $1 AND b IN (...) AND c = $2 OR d = $1");
  CHECK(same("SELECT * FROM t WHERE b IN ($1, $2, $3) AND c = $4 LIMIT $5",
             "SELECT * FROM t WHERE b IN ($1) AND c = $2 LIMIT $3"));
  // Two lists in one statement, each of any length.
  CHECK(same("SELECT 1 FROM t WHERE a IN ($1) AND b IN ($2, $3)",
             "SELECT 1 FROM t WHERE a IN ($1, $2, $3) AND b IN ($4)"));
  // A statement without a list keeps its text (whitespace aside) and its numbers.
  auto plain = canonicalize("  SELECT a,\n\t b FROM t   WHERE c = $2 AND d = $1 \n");
  CHECK_FALSE(plain.merged);
  CHECK(plain.text == "SELECT a, b FROM t WHERE c = $2 AND d = $1");
}

TEST_CASE("canonical text: strings, identifiers and comments with parentheses and commas",
          "[pg][statements]") {
  expect_collapsed("SELECT 'a, (b' || c, \"x,(y\" FROM t WHERE d IN ($1, $2) AND e = 'IN ($1, $2)'",
                   "SELECT 'a, (b' || c, \"x,(y\" FROM t WHERE d IN (...) AND e = 'IN ($1, $2)'");
  expect_kept("SELECT 1 FROM t WHERE e = 'x IN ($1, $2)'");
  expect_kept("SELECT 1 FROM t WHERE e = E'\\' IN ($1, $2)'");
  expect_kept("SELECT $q$ IN ($1, $2) $q$, $$ values ($1) $$");
  expect_kept("SELECT 1 /* IN ($1, $2) /* nested */ VALUES ($3) */ FROM t -- IN ($4)\n");
  expect_kept("SELECT \"in\"($1, $2), \"values\"($3)");
  // A string inside a list is an item like any other.
  expect_collapsed("SELECT 1 WHERE a IN ('x)', ',(', $1) -- done",
                   "SELECT 1 WHERE a IN (...) -- done");
  // Comments: whitespace runs inside them collapse too; they do not change the hash.
  auto c = canonicalize("SELECT 1 /* one\n   two */ WHERE a IN ($1)");
  CHECK(c.text == "SELECT 1 /* one two */ WHERE a IN (...)");
  CHECK(same("SELECT 1 /* one */ WHERE a IN ($1)", "SELECT 1\nWHERE a   IN ($1,$2)"));
  CHECK(same("SELECT 1 WHERE a IN ($1)", "select 1 where A in ($1, $2)"));
}

TEST_CASE("canonical text: what must not merge", "[pg][statements]") {
  expect_kept("SELECT 1 FROM t WHERE a IN (SELECT b FROM u)");
  expect_kept("SELECT 1 FROM t WHERE a IN ((SELECT b FROM u), $1)");
  expect_kept("SELECT 1 FROM t WHERE a IN (b, c)");
  expect_kept("SELECT 1 FROM t WHERE a IN ($1, c)");
  expect_kept("SELECT 1 FROM t WHERE a IN (lower(name), $1)");
  expect_kept("SELECT 1 FROM t WHERE a IN ($1 AND b)");
  expect_kept("SELECT 1 FROM t WHERE a = ANY($1)");
  expect_kept("SELECT 1 FROM t WHERE a IN (t.b)");
  expect_kept("INSERT INTO t VALUES ($1, now() + c)");
  expect_kept("INSERT INTO t SELECT $1 FROM u");
  expect_kept("SELECT 1 FROM t WHERE a IN (");  // cut short
  // Different statements around the list stay different.
  auto songs = canonicalize("SELECT * FROM songs WHERE song_id IN ($1, $2)");
  auto prints = canonicalize("SELECT * FROM fingerprints WHERE song_id IN ($1, $2)");
  CHECK(songs.hash != prints.hash);
  CHECK(canonicalize("SELECT 1 WHERE a IN ($1)").hash !=
        canonicalize("SELECT 1 WHERE a NOT IN ($1)").hash);
  CHECK(canonicalize("SELECT 1 WHERE a IN ($1)").hash !=
        canonicalize("SELECT 1 WHERE \"A\" IN ($1)").hash);
  CHECK(canonicalize(dejavu_lookup(3)).hash !=
        canonicalize(dejavu_lookup(3) + " AND song_id = $1").hash);
}

TEST_CASE("canonical text: deep nesting is kept as it is", "[pg][statements]") {
  // Each '[' of ARRAY[[[... recursed without the depth limit of other items: a million of
  // them overflowed the stack (tests/fuzz/regressions/statement_merge/deep-array-brackets).
  auto deep = canonicalize("SELECT 1 WHERE a IN (ARRAY" + std::string(1000000, '[') + ")");
  CHECK_FALSE(deep.merged);
  std::string nested = std::string(40, '[') + "$2" + std::string(40, ']');
  expect_kept("SELECT 1 WHERE a IN ($1, ARRAY" + nested + ")");
  expect_collapsed("SELECT 1 WHERE a IN ($1, ARRAY[[[$2]], [[$3]]])", "SELECT 1 WHERE a IN (...)");
}

TEST_CASE("canonical text: a hundred thousand parameters are renumbered", "[pg][statements]") {
  // Renumbering searched a list per parameter: quadratic, seconds for a text like this one
  // (tests/fuzz/regressions/statement_merge/many-parameters).
  std::string sql = "SELECT 1 WHERE a IN ($1) AND b = $2";
  for (int p = 3; p <= 100001; ++p)
    sql += " + $" + std::to_string(p);
  auto c = canonicalize(sql + " + $2");
  CHECK(c.merged);
  CHECK_THAT(c.text, Catch::StartsWith("SELECT 1 WHERE a IN (...) AND b = $1 + $2 + $3 + "));
  CHECK_THAT(c.text, Catch::EndsWith(" + $99999 + $100000 + $1"));
}
