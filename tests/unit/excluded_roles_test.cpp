// --pg.statements.exclude-users: the role list as flags give it, and the SQL condition that
// no role name can break out of.
#include "pg/excluded_roles.h"

#include <catch2/catch.hpp>
#include <stdexcept>

using afp::pg::excluded_roles_condition;
using afp::pg::parse_role_list;
using afp::pg::role_list_text;

TEST_CASE("excluded roles: a comma-separated list, empty for none", "[pg]") {
  CHECK(parse_role_list("").empty());
  CHECK(parse_role_list("afp_faults") == std::vector<std::string>{"afp_faults"});
  CHECK(parse_role_list("afp_faults,Ops Team") ==
        std::vector<std::string>{"afp_faults", "Ops Team"});  // role names may hold spaces
  CHECK(role_list_text({"a", "b c"}) == "a,b c");
  CHECK(role_list_text({}).empty());
  CHECK(parse_role_list(std::string(63, 'r')).size() == 1);
}

TEST_CASE("excluded roles: empty, overlong and control-character names are refused", "[pg]") {
  for (const auto& bad : std::vector<std::string>{",", "a,", ",a", "a,,b", std::string(64, 'r'),
                                                  "a\nb", std::string("a\0b", 3)}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_role_list(bad), std::invalid_argument);
  }
  CHECK_THROWS_WITH(parse_role_list("a,,b"), Catch::Contains("empty role name"));
  CHECK_THROWS_WITH(parse_role_list(std::string(64, 'r')), Catch::Contains("63 bytes"));
}

TEST_CASE("excluded roles: the condition quotes every name as a literal", "[pg]") {
  CHECK(excluded_roles_condition({}, "s.userid").empty());
  CHECK(excluded_roles_condition({"afp_faults"}, "s.userid") ==
        " AND s.userid NOT IN (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname IN "
        "(E'afp_faults'))");
  // A name that tries to end the literal stays inside it.
  auto hostile = excluded_roles_condition({"x') OR true --", "a\\'b"}, "userid");
  CHECK_THAT(hostile, Catch::Contains("(E'x'') OR true --', E'a\\\\''b')"));
}
