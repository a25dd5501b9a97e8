#pragma once

// Statement texts leave the exporter (the query label, `db report`, logs, errors) only
// through redact_sql().
//
// pg_stat_statements replaces the constants of the statements it plans (SELECT, INSERT,
// UPDATE, DELETE, MERGE) with $n, but stores utility statements verbatim: after
// `ALTER ROLE app PASSWORD 'Sekr1t'`, `CREATE ROLE ... PASSWORD`, `ALTER SYSTEM SET`,
// `COPY ... PROGRAM '...'`, `SET x = '...'` or `DO $$ ... $$`, the literal is in its text.

#include <string>
#include <string_view>

namespace afp::pg {

// What a redacted literal reads as.
inline constexpr std::string_view kRedactedLiteral = "'***'";

// `sql` with every string literal (every quoting form, dollar quotes included) and the
// operand of every PASSWORD clause replaced by kRedactedLiteral; everything else as it was.
// A plain string holding a backslash may have ended elsewhere (standard_conforming_strings
// off makes \' an escaped quote), so from such a string on the whole rest is replaced.
std::string redact_sql(std::string_view sql);

}  // namespace afp::pg
