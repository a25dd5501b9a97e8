#pragma once

// Recognises look-ups that compare a bytea column as text: an index on the column cannot
// serve such a condition, so each one reads the whole table. Pure (no libpq).

#include <string_view>

namespace afp::pg {

// Whether `query` (a statement text, e.g. pg_stat_statements' normalized one) names `table`
// and, in a WHERE, ON or HAVING condition, turns `column` into text: column::text (or
// varchar, char, bpchar, name, citext), CAST(column AS text), text(column) or
// encode(column, ...). `table` and `column` are raw names, as the catalog spells them;
// unquoted words in the text match them case-insensitively, quoted identifiers exactly.
// Conversions in the select list do not count: they change what is returned, not how rows
// are found.
bool compares_column_as_text(std::string_view query, std::string_view table,
                             std::string_view column);

}  // namespace afp::pg
