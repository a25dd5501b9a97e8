#include "pg/excluded_roles.h"

#include <stdexcept>

#include "pg/sql_literal.h"

namespace afp::pg {

namespace {

// NAMEDATALEN - 1: PostgreSQL cuts longer names, so such a name never matches as given.
constexpr std::size_t kMaxRoleBytes = 63;

void check_role(std::string_view role) {
  if (role.empty()) throw std::invalid_argument("an empty role name (ROLE,ROLE,...)");
  if (role.size() > kMaxRoleBytes) {
    throw std::invalid_argument("role name longer than 63 bytes: \"" +
                                std::string(role.substr(0, 20)) + "...\"");
  }
  for (unsigned char c : role) {
    if (c < 0x20 || c == 0x7f) throw std::invalid_argument("a control character in a role name");
  }
}

}  // namespace

std::vector<std::string> parse_role_list(std::string_view text) {
  std::vector<std::string> roles;
  if (text.empty()) return roles;
  for (;;) {
    auto comma = text.find(',');
    auto role = text.substr(0, comma);
    check_role(role);
    roles.emplace_back(role);
    if (comma == std::string_view::npos) return roles;
    text.remove_prefix(comma + 1);
  }
}

std::string role_list_text(const std::vector<std::string>& roles) {
  std::string out;
  for (const auto& role : roles)
    out += (out.empty() ? "" : ",") + role;
  return out;
}

std::string excluded_roles_condition(const std::vector<std::string>& roles,
                                     std::string_view userid_column) {
  if (roles.empty()) return {};
  std::string names;
  for (const auto& role : roles)
    names += (names.empty() ? "" : ", ") + sql_literal(role);
  return " AND " + std::string(userid_column) +
         " NOT IN (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname IN (" + names + "))";
}

}  // namespace afp::pg
