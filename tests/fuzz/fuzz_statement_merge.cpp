// pg_stat_statements texts: canonicalize and cap_utf8 on the whole input, then a
// StatementMerger over three scrapes whose statements are the input's lines, with
// counters that grow, shrink (entry reset) and vanish (eviction) as the lines dictate.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/utf8.h"
#include "harness_support.h"
#include "pg/sql_canonical.h"
#include "pg/statement_merge.h"

using namespace afp;
using fuzz::require;

namespace {

constexpr std::size_t kMaxStatements = 16;
constexpr int kScrapes = 3;

void check_canonical(std::string_view sql) {
  auto canonical = pg::canonicalize(sql);
  if (canonical.merged) require(canonical.text.find("(...)") != std::string::npos, "(...) shown");
  require(pg::canonicalize(sql).hash == canonical.hash, "canonical hashes are repeatable");
  // The label cap: valid UTF-8, whatever the text held.
  std::size_t max_chars = sql.empty() ? 0 : static_cast<unsigned char>(sql[0]) % 130;
  auto capped = pg::cap_utf8(sql, max_chars);
  require(core::valid_utf8(capped), "capped text is UTF-8");
  require(capped.size() <= max_chars * 4, "capped text is at most max_chars characters");
}

// The rows of one scrape: line i is statement i; its first byte decides its fate.
std::vector<pg::StatementRow> rows_of(const std::vector<std::string_view>& lines, int scrape) {
  std::vector<pg::StatementRow> rows;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    unsigned fate = lines[i].empty() ? 0 : static_cast<unsigned char>(lines[i][0]);
    if (scrape == 1 && fate % 5 == 1) continue;  // evicted for one scrape
    double calls = static_cast<double>((scrape + 1) * (lines[i].size() + 1));
    if (scrape == 2 && fate % 3 == 2) calls = 1;  // reset: smaller than before
    pg::StatementRow row;
    row.key = {static_cast<std::int64_t>(i % 7), 1 + static_cast<std::uint32_t>(fate % 2), 10,
               fate % 4 != 3};
    row.counters = {calls, calls * 1.5, calls, calls / 8, calls / 16};
    row.datname = fate % 2 ? "db1" : "db2";
    row.user = "afp";
    rows.push_back(row);
  }
  return rows;
}

void check_merger(const std::vector<std::string_view>& lines) {
  // Tiny capacity and memory span, so sweeps run too.
  pg::StatementMerger merger({.forget_after = std::chrono::seconds(20), .min_capacity = 4});
  auto now = pg::StatementMerger::Clock::time_point{std::chrono::hours(1)};
  for (int scrape = 0; scrape < kScrapes; ++scrape) {
    auto rows = rows_of(lines, scrape);
    for (std::int64_t id : merger.unknown_queryids(rows)) {
      auto index = static_cast<std::size_t>(id);
      require(index < lines.size(), "unknown queryids come from the rows");
      // Some texts are unreadable (pg_stat_statements' query file): exported as themselves.
      merger.add_text(id, index % 4 == 3 ? nullptr : &lines[index]);
    }
    merger.update(rows, now, scrape == 2 ? 2.0 : 1.0);
    for (const auto* group : merger.top(0, 0)) {
      require(group->total.calls >= 0, "calls never go negative");
      require(core::valid_utf8(group->query()), "query labels are UTF-8");
    }
    now += std::chrono::seconds(15);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto sql = fuzz::text_of(data, size);
  check_canonical(sql);
  auto lines = fuzz::split_lines(sql);
  if (lines.size() > kMaxStatements) lines.resize(kMaxStatements);
  check_merger(lines);
  return 0;
}
