#include "cli/status_render.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <utility>

namespace afp::cli {

std::string format_number(core::Unit unit, double value, bool is_threshold) {
  std::array<char, 64> buf{};
  if (unit == core::Unit::Up) {
    if (is_threshold) return "down";
    return value == 1 ? "up" : "down";
  }
  if (unit == core::Unit::Ratio) {
    std::snprintf(buf.data(), buf.size(), is_threshold ? "%g%%" : "%.1f%%", value * 100);
  } else {
    std::snprintf(buf.data(), buf.size(), is_threshold ? "%g s" : "%.3f s", value);
  }
  return buf.data();
}

namespace {

std::string_view unit_name(core::Unit unit) {
  switch (unit) {
    case core::Unit::Ratio:
      return "ratio";
    case core::Unit::Seconds:
      return "seconds";
    case core::Unit::Up:
      break;
  }
  return "up";
}

// The threshold cell: "<99%" where lower is worse; an up flag has one level only.
std::string threshold_cell(const core::Threshold& t, double level, bool is_warning) {
  if (t.unit == core::Unit::Up) return is_warning ? "-" : "down";
  std::string text = format_number(t.unit, level, true);
  return t.direction == core::Direction::LowerIsWorse ? "<" + text : text;
}

std::string value_cell(const CheckRow& row) {
  if (row.range) return format_seconds_range(*row.range);
  return row.value ? format_number(row.threshold.unit, *row.value, false) : "-";
}

// Terminal columns of UTF-8 text ("–", "≤", a mountpoint's name), one per code point.
std::size_t columns(std::string_view text) {
  return static_cast<std::size_t>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// Bounds as numbers; null for the open side of the top (or a non-positive first) bucket.
nlohmann::ordered_json range_json(const QuantileRange& range) {
  auto bound = [](double v) {
    return std::isfinite(v) ? nlohmann::ordered_json(v) : nlohmann::ordered_json(nullptr);
  };
  return {{"lower", bound(range.lower)}, {"upper", bound(range.upper)}};
}

std::string row_label(const CheckRow& row) {
  std::string label(row.threshold.what);
  if (!row.target.empty()) label += " " + row.target;
  return label;
}

}  // namespace

void print_table(std::ostream& out, std::string_view source, const std::vector<CheckRow>& rows) {
  struct Cells {
    std::string label, value, warning, critical, state;
  };
  std::vector<Cells> cells{{"CHECK", "VALUE", "WARNING", "CRITICAL", "STATE"}};
  for (const auto& row : rows) {
    std::string state(core::words_of(row.state).status);
    if (!row.note.empty()) state += " (" + row.note + ")";
    cells.push_back({row_label(row), value_cell(row),
                     threshold_cell(row.threshold, row.threshold.warning, true),
                     threshold_cell(row.threshold, row.threshold.critical, false), state});
  }
  std::array<std::size_t, 4> width{};
  for (const auto& c : cells) {
    width[0] = std::max(width[0], columns(c.label));
    width[1] = std::max(width[1], columns(c.value));
    width[2] = std::max(width[2], columns(c.warning));
    width[3] = std::max(width[3], columns(c.critical));
  }
  auto pad_left = [](const std::string& s, std::size_t w) {
    return std::string(w > columns(s) ? w - columns(s) : 0, ' ') + s;
  };
  out << "source: " << source << "\n";
  for (const auto& c : cells) {
    out << c.label << std::string(width[0] - columns(c.label), ' ') << "  "
        << pad_left(c.value, width[1]) << "  " << pad_left(c.warning, width[2]) << "  "
        << pad_left(c.critical, width[3]) << "  " << c.state << "\n";
  }
}

void print_json(std::ostream& out, std::string_view source, const std::vector<CheckRow>& rows) {
  // ordered_json keeps the keys in the order written: name first, as people read it.
  auto checks = nlohmann::ordered_json::array();
  for (const auto& row : rows) {
    nlohmann::ordered_json j;
    j["name"] = row.threshold.name;
    if (!row.target.empty()) j["target"] = row.target;
    j["value"] = row.value ? nlohmann::ordered_json(*row.value) : nlohmann::ordered_json(nullptr);
    if (row.range) j["range"] = range_json(*row.range);
    j["unit"] = unit_name(row.threshold.unit);
    j["warning"] = row.threshold.warning;
    j["critical"] = row.threshold.critical;
    if (row.threshold.direction == core::Direction::LowerIsWorse) j["lower_is_worse"] = true;
    j["state"] = core::words_of(row.state).status;
    if (!row.note.empty()) j["note"] = row.note;
    checks.push_back(std::move(j));
  }
  nlohmann::ordered_json doc{{"source", source}, {"checks", std::move(checks)}};
  out << doc.dump(2) << "\n";
}

}  // namespace afp::cli
