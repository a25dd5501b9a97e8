#pragma once

// Synthetic scrapes and row look-ups shared by the status_*_test.cpp files.

#include <algorithm>
#include <initializer_list>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/status.h"
#include "metrics/text_parser.h"

namespace afp::test::status {

using afp::cli::CheckRow;
using afp::metrics::Sample;

inline Sample cpu(const std::string& n, const std::string& mode, double seconds) {
  return {"node_cpu_seconds_total", {{"cpu", n}, {"mode", mode}}, seconds};
}

inline std::vector<Sample> memory(double total, double available) {
  return {{"node_memory_MemTotal_bytes", {}, total},
          {"node_memory_MemAvailable_bytes", {}, available}};
}

// device: by default one of its own per mountpoint; name one to make bind mounts.
inline std::vector<Sample> filesystem(const std::string& mountpoint, double size, double avail,
                                      double readonly = 0, double device_error = 0,
                                      const std::string& device = "") {
  std::vector<std::pair<std::string, std::string>> labels{
      {"device", device.empty() ? "/dev/x" + mountpoint : device},
      {"fstype", "ext4"},
      {"mountpoint", mountpoint}};
  return {{"node_filesystem_size_bytes", labels, size},
          {"node_filesystem_avail_bytes", labels, avail},
          {"node_filesystem_readonly", labels, readonly},
          {"node_filesystem_device_error", labels, device_error}};
}

inline std::vector<Sample> join(std::initializer_list<std::vector<Sample>> parts) {
  std::vector<Sample> out;
  for (const auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Two CPUs whose busy share over the interval is busy_percent / 100, to the bit: the
// deltas are integral seconds adding up to 100.
inline std::pair<std::vector<Sample>, std::vector<Sample>> cpu_scrapes(int busy_percent) {
  int idle = 100 - busy_percent;
  std::vector<Sample> before{cpu("0", "idle", 1000), cpu("0", "iowait", 10),
                             cpu("0", "user", 500),  cpu("1", "idle", 1000),
                             cpu("1", "steal", 3),   cpu("1", "system", 200)};
  std::vector<Sample> after{cpu("0", "idle", 1000 + idle / 2),
                            cpu("0", "iowait", 10),
                            cpu("0", "user", 500 + busy_percent / 2),
                            cpu("1", "idle", 1000 + (idle - idle / 2 - idle % 2)),
                            cpu("1", "steal", 3 + idle % 2),
                            cpu("1", "system", 200 + (busy_percent - busy_percent / 2))};
  return {before, after};
}

inline std::vector<Sample> statement(const std::string& queryid, double calls, double seconds) {
  std::vector<std::pair<std::string, std::string>> labels{
      {"datname", "afp"}, {"user", "app"}, {"queryid", queryid}};
  return {{"pg_stat_statements_calls_total", labels, calls},
          {"pg_stat_statements_seconds_total", labels, seconds}};
}

inline std::vector<Sample> database(const std::string& datname, double hit, double read) {
  // postgres_exporter's names and labels; the datid only has to match between the two.
  std::vector<std::pair<std::string, std::string>> labels{{"datid", std::to_string(datname.size())},
                                                          {"datname", datname}};
  return {{"pg_stat_database_blks_hit", labels, hit}, {"pg_stat_database_blks_read", labels, read}};
}

inline std::vector<Sample> table(const std::string& relname, double live, double dead) {
  std::vector<std::pair<std::string, std::string>> labels{
      {"datname", "afp"}, {"schemaname", "public"}, {"relname", relname}};
  return {{"pg_stat_user_tables_n_live_tup", labels, live},
          {"pg_stat_user_tables_n_dead_tup", labels, dead}};
}

inline std::vector<Sample> pg_up(double up) {
  return {{"pg_up", {}, up}};
}

inline const CheckRow* row(const std::vector<CheckRow>& rows, std::string_view name,
                           std::string_view target = "") {
  for (const auto& r : rows) {
    if (r.threshold.name == name && r.target == target) return &r;
  }
  return nullptr;
}

// The rows of these checks only, in report order: a test of some checks reads their rows
// without the n/a rows every other check adds.
inline std::vector<CheckRow> only(const std::vector<CheckRow>& rows,
                                  std::initializer_list<std::string_view> names) {
  std::vector<CheckRow> out;
  for (const auto& r : rows) {
    if (std::find(names.begin(), names.end(), r.threshold.name) != names.end()) out.push_back(r);
  }
  return out;
}

// The first check of this name in a `status --json` document.
inline const nlohmann::json& check_named(const nlohmann::json& doc, std::string_view name) {
  for (const auto& c : doc["checks"]) {
    if (c["name"] == name) return c;
  }
  throw std::runtime_error("no check " + std::string(name));
}

// The identifications the app counted, by result.
inline std::vector<Sample> identifications(double match, double no_match, double error) {
  return {{"afp_identifications_total", {{"result", "match"}}, match},
          {"afp_identifications_total", {{"result", "no_match"}}, no_match},
          {"afp_identifications_total", {{"result", "error"}}, error}};
}

}  // namespace afp::test::status
