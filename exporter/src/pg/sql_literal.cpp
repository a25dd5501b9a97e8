#include "pg/sql_literal.h"

namespace afp::pg {

std::string sql_literal(std::string_view text) {
  std::string out = "E'";
  for (char c : text) {
    if (c == '\'' || c == '\\') out += c;
    out += c;
  }
  return out + "'";
}

}  // namespace afp::pg
