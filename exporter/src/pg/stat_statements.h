#pragma once

// The SQL of the pg_stat_statements collector, chosen by the extension's columns; pure
// functions, so every PostgreSQL version's choice is testable without that server.

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace afp::pg {

struct StatementsSql {
  // Columns by position: queryid, dbid, userid, toplevel, calls, total_exec_time, rows,
  // block read time, block write time (times in ms). No names: joining pg_database and
  // calling pg_get_userbyid for every row cost a tenth of the query; names_sql() reads
  // them once per new oid.
  std::string counters;
  // One value, the epoch of the last full reset; empty when the extension has no
  // pg_stat_statements_info (before 1.9, PostgreSQL 13).
  std::string reset;
  // queryid, query of the given statements: texts_sql() completes it.
  std::string texts;
};

// The queries for pg_stat_statements(boolean) as installed: `proargnames` is its
// pg_proc.proargnames as PostgreSQL prints it ("{showtext,userid,dbid,...}"), `schema`
// the extension's schema. PostgreSQL 13–16 (extension 1.8–1.10) have total_exec_time,
// blk_read_time and blk_write_time; 17 (1.11) split the block times into shared_blk_* and
// local_blk_*, which are added up to mean what blk_*_time meant before. Without
// total_exec_time (PostgreSQL 12 and older: total_time) it throws PgError saying so.
// Statements of `exclude_users` are left out of every query (pg/excluded_roles.h).
StatementsSql statements_sql(std::string_view proargnames, std::string_view schema, bool has_info,
                             bool all_databases, int server_version,
                             const std::vector<std::string>& exclude_users = {});

// The text query for these queryids (one array constant, so the exporter's own statement
// is one pg_stat_statements entry whatever the number of ids).
std::string texts_sql(const StatementsSql& sql, std::span<const std::int64_t> queryids);

// The names of these databases and roles: rows (is_role, oid, name). A database that no
// longer exists has no row; a role that no longer exists is named as pg_get_userbyid
// names it ("unknown (OID=...)").
std::string names_sql(std::span<const std::uint32_t> dbids, std::span<const std::uint32_t> userids);

// What stops the collector in database `datname`, with the exact lines that fix it: the
// extension not installed there (CREATE EXTENSION), its library not loaded (not in
// shared_preload_libraries, or the server not restarted since), or both. "" when neither.
std::string missing_extension_message(std::string_view datname, bool installed, bool loaded);

}  // namespace afp::pg
