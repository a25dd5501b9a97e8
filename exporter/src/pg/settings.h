#pragma once

#include <string>
#include <vector>

namespace afp::pg {

// The pg_stat_statements collector (pg/stat_statements.cpp), --pg.statements.*.
struct StatementsSettings {
  long long limit = 100;       // the N statements with most execution time, after merging; 0: all
  long long min_calls = 1;     // fewer calls (after merging): not exported
  bool include_query = false;  // pg_stat_statements_query_id{queryid,query}
  bool all_databases = false;  // every database's statements, not only the DSN's
  std::vector<std::string> exclude_users;  // these roles' statements are left out
};

// What the PostgreSQL collectors are configured with; filled from flags and the config file.
struct CollectorSettings {
  StatementsSettings statements;
  // The largest tables and indexes pg_stat_user_tables/indexes export; 0: all. A schema of
  // thousands of partitions would otherwise mean tens of thousands of series.
  long long relations_limit = 500;
};

}  // namespace afp::pg
