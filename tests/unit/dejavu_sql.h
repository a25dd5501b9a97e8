#pragma once

// Dejavu's statements as pg_stat_statements normalizes them, with lists of n items: the
// texts the canonical form and the statement merger are there for.

#include <string>

namespace afp::test {

// Dejavu's look-up with n hashes.
inline std::string dejavu_lookup(int n) {
  std::string sql =
      "SELECT upper(encode(\"hash\", $1)), \"song_id\", \"offset\" FROM \"fingerprints\" "
      "WHERE \"hash\" IN (";
  int p = 2;
  for (int i = 0; i < n; ++i) {
    if (i) sql += ", ";
    sql += "decode($" + std::to_string(p) + ", $" + std::to_string(p + 1) + ")";
    p += 2;
  }
  return sql + ")";
}

// Dejavu's insert of n fingerprints.
inline std::string dejavu_insert(int n) {
  std::string sql = "INSERT INTO fingerprints (hash, song_id, \"offset\") VALUES ";
  int p = 1;
  for (int i = 0; i < n; ++i) {
    if (i) sql += ", ";
    sql += "(decode($" + std::to_string(p) + ", $" + std::to_string(p + 1) + "), $" +
           std::to_string(p + 2) + ", $" + std::to_string(p + 3) + ")";
    p += 4;
  }
  return sql + " ON CONFLICT (song_id, \"offset\", hash) DO NOTHING";
}

}  // namespace afp::test
