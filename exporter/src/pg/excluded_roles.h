#pragma once

// Roles whose statements the readers of pg_stat_statements leave out
// (--pg.statements.exclude-users): the metrics, `db report` and `status` then show the
// app's statements, not those of maintenance or fault-injection sessions that share the
// database. pg_stat_statements keys its entries by userid and dbid, not application_name,
// so a role is what can be told apart.

#include <string>
#include <string_view>
#include <vector>

namespace afp::pg {

// "ROLE,ROLE,..." as the flag takes it: "" is none. Throws std::invalid_argument naming the
// problem (an empty name, one longer than PostgreSQL's 63 bytes, a control character).
std::vector<std::string> parse_role_list(std::string_view text);
// The flag's text of a list (the names joined by commas).
std::string role_list_text(const std::vector<std::string>& roles);

// " AND <userid_column> NOT IN (...)" leaving out these roles' statements, or "" for none.
// A role that does not exist excludes nothing.
std::string excluded_roles_condition(const std::vector<std::string>& roles,
                                     std::string_view userid_column);

}  // namespace afp::pg
