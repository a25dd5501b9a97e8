#include "cli/profile_plan.h"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace afp::cli::profile {

namespace {

using json = nlohmann::json;

double number(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_number() ? it->get<double>() : 0;
}

std::string text(const json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}

struct Walk {
  std::string_view schema, table;
  PlanFacts& facts;

  void node(const json& n) {
    if (!n.is_object()) throw std::runtime_error("a plan node is not an object");
    auto index = text(n, "Index Name");
    if (!index.empty()) facts.indexes.push_back(index);
    if (reads_table(n)) facts.scans.push_back(scan_of(n, index));
    if (auto it = n.find("Plans"); it != n.end() && it->is_array()) {
      for (const auto& child : *it)
        node(child);
    }
  }

  bool reads_table(const json& n) const {
    if (text(n, "Relation Name") != table) return false;
    auto it = n.find("Schema");
    return schema.empty() || it == n.end() || !it->is_string() || it->get<std::string>() == schema;
  }

  PlanScan scan_of(const json& n, std::string index) const {
    PlanScan s;
    s.node = text(n, "Node Type");
    auto parallel = n.find("Parallel Aware");
    s.parallel = parallel != n.end() && parallel->is_boolean() && parallel->get<bool>();
    s.index = std::move(index);
    s.plan_rows = number(n, "Plan Rows");
    s.actual_rows = number(n, "Actual Rows");
    s.removed_rows = number(n, "Rows Removed by Filter");
    s.loops = number(n, "Actual Loops");
    return s;
  }
};

}  // namespace

std::vector<std::string> random_hashes(std::mt19937_64& rng, std::size_t count) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    std::string h;
    for (std::size_t b = 0; b < kHashBytes; ++b) {
      int v = byte(rng);
      h += kHex[v >> 4];
      h += kHex[v & 15];
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::string lookup_sql(std::string_view table, std::string_view column,
                       const std::vector<std::string>& hex_hashes) {
  std::string col(column);
  std::string sql = "SELECT upper(encode(" + col + ", 'hex')), song_id, \"offset\" FROM " +
                    std::string(table) + " WHERE " + col + " IN (";
  for (std::size_t i = 0; i < hex_hashes.size(); ++i) {
    if (i > 0) sql += ", ";
    // Hex digits only (random_hashes): nothing to escape.
    sql += "decode('" + hex_hashes[i] + "', 'hex')";
  }
  return sql + ")";
}

const PlanScan* PlanFacts::seq_scan() const {
  for (const auto& s : scans) {
    if (s.node == "Seq Scan") return &s;
  }
  return nullptr;
}

PlanFacts read_plan(std::string_view explain_json, std::string_view schema,
                    std::string_view table) {
  json doc = json::parse(explain_json, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_array() || doc.empty() || !doc[0].is_object() || !doc[0].contains("Plan")) {
    throw std::runtime_error("not EXPLAIN (FORMAT JSON) output");
  }
  const json& top = doc[0];
  const json& plan = top["Plan"];
  PlanFacts facts;
  facts.analyzed = plan.is_object() && plan.contains("Actual Loops");
  Walk{schema, table, facts}.node(plan);
  // The top node's buffer counts include every node below it.
  facts.shared_hit_blocks = number(plan, "Shared Hit Blocks");
  facts.shared_read_blocks = number(plan, "Shared Read Blocks");
  facts.execution_ms = number(top, "Execution Time");
  return facts;
}

std::string describe(const PlanScan& scan) {
  std::string out = (scan.parallel ? "Parallel " : "") + scan.node;
  if (!scan.index.empty()) out += " using " + scan.index;
  return out;
}

}  // namespace afp::cli::profile
