#pragma once

// Values that go into SQL text as literals (names from flags, role names from the
// configuration): quoted so that no value can end the literal, whatever the server's
// standard_conforming_strings says.

#include <string>
#include <string_view>

namespace afp::pg {

// E'...' with every quote and backslash doubled.
std::string sql_literal(std::string_view text);

}  // namespace afp::pg
