#pragma once

// The canonical form of a normalized statement text (pg_stat_statements' `query` column):
// what the statement merger (pg/statement_merge.h) groups statements by.

#include <cstdint>
#include <string>
#include <string_view>

namespace afp::pg {

// A normalized statement text (pg_stat_statements' `query` column) in canonical form.
//
// A parenthesised, comma-separated list of parameter-like items after IN, and a VALUES
// list of such tuples, become "(...)": `WHERE hash IN (decode($1, $2), decode($3, $4))`
// and `... IN (decode($1, $2))` both read `WHERE hash IN (...)`. Parameter-like items are
// parameters ($n), constants, NULL/TRUE/FALSE/DEFAULT, casts ($1::bytea, CAST($1 AS int)),
// typed literals (date $1), calls of functions on such items (decode($1, $2)), row
// constructors of them and operators between them. Anything that names a column or holds
// a subquery keeps the list as it is. Strings, quoted identifiers, dollar quotes and
// comments are skipped correctly, so parentheses and commas inside them never count.
struct CanonicalText {
  // FNV-1a 64 of the token sequence, whitespace and comments left out, unquoted words in
  // lower case, every $n as "$" and every collapsed list as "(...)": equal for texts that
  // differ only in list lengths, parameter numbers, spacing, comments or keyword case.
  std::uint64_t hash = 0;
  // Whether a list was collapsed: such a statement is exported under `hash`.
  bool merged = false;
  // For people: whitespace runs collapsed to one space, collapsed lists as (...), and, when
  // merged, the remaining parameters renumbered from $1 in order of first appearance.
  std::string text;
};
CanonicalText canonicalize(std::string_view normalized_sql);

}  // namespace afp::pg
