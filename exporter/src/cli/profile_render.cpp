#include "cli/profile_render.h"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>
#include <utility>

#include "cli/subcommand.h"

namespace afp::cli::profile {

namespace {

using json = nlohmann::ordered_json;

json verdict_json(core::Severity v) {
  if (v == core::Severity::Unknown) return nullptr;
  std::string name(core::words_of(v).profile);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return name;
}

std::string pad_left(const std::string& s, std::size_t w) {
  return std::string(w > s.size() ? w - s.size() : 0, ' ') + s;
}

std::string pad_right(const std::string& s, std::size_t w) {
  return s + std::string(w > s.size() ? w - s.size() : 0, ' ');
}

// Rows of cells, numbers right-aligned; the first column and those in `left` left-aligned,
// the last one free.
void print_columns(std::ostream& out, const std::vector<std::vector<std::string>>& rows,
                   const std::vector<std::size_t>& left = {}) {
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows) {
    for (std::size_t i = 0; i + 1 < row.size(); ++i)
      width[i] = std::max(width[i], row[i].size());
  }
  auto is_left = [&](std::size_t i) {
    return i == 0 || std::find(left.begin(), left.end(), i) != left.end();
  };
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      out << "  ";  // the indent, then the gap between columns
      if (i + 1 == row.size()) {
        out << row[i];
      } else {
        out << (is_left(i) ? pad_right(row[i], width[i]) : pad_left(row[i], width[i]));
      }
    }
    out << "\n";
  }
}

std::string result_cell(core::Severity v, const std::string& note) {
  std::string cell = v == core::Severity::Unknown && !note.empty()
                         ? "n/a"
                         : std::string(core::words_of(v).profile);
  return note.empty() ? cell : cell + " (" + note + ")";
}

void print_measures(std::ostream& out, const std::vector<Measure>& measures) {
  std::vector<std::vector<std::string>> rows{
      {"MEASURE", "COUNT", "MIN", "P50", "P95", "MAX", "WARNING", "CRITICAL", "RESULT"}};
  for (const auto& m : measures) {
    std::vector<std::string> row{m.label, m.stats ? std::to_string(m.stats->count) : "0"};
    for (double Stats::*field : {&Stats::min, &Stats::p50, &Stats::p95, &Stats::max})
      row.push_back(m.stats ? seconds_text((*m.stats).*field) : "-");
    row.push_back(m.requirement ? threshold_text(m.requirement->unit, m.requirement->warning)
                                : "-");
    row.push_back(m.requirement ? threshold_text(m.requirement->unit, m.requirement->critical)
                                : "-");
    row.push_back(result_cell(m.verdict, m.stats ? "" : "no successful iteration"));
    rows.push_back(std::move(row));
  }
  print_columns(out, rows);
}

void print_readings(std::ostream& out, const std::vector<Reading>& readings) {
  std::vector<std::vector<std::string>> rows{{"CHECK", "VALUE", "WARNING", "CRITICAL", "RESULT"}};
  bool text_values = false;
  for (const auto& r : readings) {
    text_values = text_values || !r.value;
    auto unit = r.requirement ? r.requirement->unit : core::Unit::Seconds;
    rows.push_back({r.label,
                    r.value          ? value_text(unit, *r.value)
                    : r.text.empty() ? "-"
                                     : r.text,
                    r.requirement ? threshold_text(unit, r.requirement->warning) : "-",
                    r.requirement ? threshold_text(unit, r.requirement->critical) : "-",
                    result_cell(r.verdict, r.note)});
  }
  // A plan read like "Bitmap Heap Scan on ..." is text: it reads better left-aligned.
  print_columns(out, rows, text_values ? std::vector<std::size_t>{1} : std::vector<std::size_t>{});
}

// `text` after `first`, wrapped at 100 columns, continuation lines indented by `indent`.
void print_wrapped(std::ostream& out, std::string_view first, std::string_view text,
                   std::size_t indent) {
  std::size_t col = first.size();
  out << first;
  bool line_start = true;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    auto word = text.substr(pos, end - pos);
    pos = end + 1;
    if (word.empty()) continue;
    if (!line_start && col + 1 + word.size() > 100) {
      out << "\n" << std::string(indent, ' ');
      col = indent;
      line_start = true;
    }
    if (!line_start) {
      out << ' ';
      ++col;
    }
    out << word;
    col += word.size();
    line_start = false;
  }
  out << "\n";
}

void print_section(std::ostream& out, const Section& s) {
  out << "\n" << s.name << ": " << s.target << "\n";
  out << "  " << s.what;
  if (s.iterations > 0) out << ", " << s.failed << " failed";
  out << "\n";
  for (const auto& [reason, count] : s.errors)
    print_wrapped(out, "    " + std::to_string(count) + "x ", reason, 8);
  if (!s.measures.empty()) print_measures(out, s.measures);
  if (!s.readings.empty()) print_readings(out, s.readings);
}

json requirement_json(const std::optional<core::Threshold>& t) {
  if (!t) return nullptr;
  return {{"name", t->name}, {"warning", t->warning}, {"critical", t->critical}};
}

json measure_json(const Measure& m) {
  json j{{"id", m.id}, {"label", m.label}, {"unit", "seconds"}};
  j["count"] = m.stats ? m.stats->count : 0;
  for (auto [key, field] : {std::pair{"min", &Stats::min}, std::pair{"p50", &Stats::p50},
                            std::pair{"p95", &Stats::p95}, std::pair{"max", &Stats::max}}) {
    j[key] = m.stats ? json((*m.stats).*field) : json(nullptr);
  }
  j["requirement"] = requirement_json(m.requirement);
  j["result"] = verdict_json(m.verdict);
  return j;
}

json reading_json(const Reading& r) {
  json j{{"id", r.id}, {"label", r.label}};
  if (!r.target.empty()) j["target"] = r.target;
  if (r.value) {
    j["value"] = *r.value;
    j["unit"] = r.requirement && r.requirement->unit == core::Unit::Ratio ? "ratio" : "seconds";
  } else {
    j["value"] = r.text.empty() ? json(nullptr) : json(r.text);
  }
  j["requirement"] = requirement_json(r.requirement);
  j["result"] = verdict_json(r.verdict);
  if (!r.note.empty()) j["note"] = r.note;
  return j;
}

json section_json(const Section& s) {
  json j{{"name", s.name}, {"target", s.target}, {"what", s.what}};
  if (s.iterations > 0) {
    j["iterations"] = s.iterations;
    j["failed"] = s.failed;
    json errors = json::array();
    for (const auto& [reason, count] : s.errors)
      errors.push_back({{"reason", reason}, {"count", count}});
    j["errors"] = std::move(errors);
  }
  json measures = json::array(), checks = json::array();
  for (const auto& m : s.measures)
    measures.push_back(measure_json(m));
  for (const auto& r : s.readings)
    checks.push_back(reading_json(r));
  j["measures"] = std::move(measures);
  j["checks"] = std::move(checks);
  j["recommendations"] = s.recommendations;
  return j;
}

}  // namespace

void print_text(std::ostream& out, const Report& report) {
  out << "profile: mode " << report.mode;
  if (report.iterations > 0) out << ", " << report.iterations << " iterations";
  out << "; percentiles are nearest-rank\n";
  for (const auto& s : report.sections)
    print_section(out, s);
  if (!report.skipped.empty()) {
    out << "\n";
    for (const auto& skipped : report.skipped)
      print_wrapped(out, "skipped: ", skipped, 9);
  }
  bool any = false;
  for (const auto& s : report.sections) {
    for (const auto& r : s.recommendations) {
      if (!any) out << "\nrecommendations:\n";
      any = true;
      print_wrapped(out, "  - " + s.name + ": ", r, 4);
    }
  }
  out << "\nresult: " << summary_line(report) << "\n";
}

void print_json(std::ostream& out, const Report& report) {
  json sections = json::array();
  for (const auto& s : report.sections)
    sections.push_back(section_json(s));
  int code = exit_code(report);
  json doc{{"mode", report.mode},
           {"iterations", report.iterations},
           {"percentiles", "nearest-rank"},
           {"sections", std::move(sections)},
           {"skipped", report.skipped},
           {"result", code == kExitOk        ? "pass"
                      : code == kExitProblem ? "fail"
                                             : "nothing judged"},
           {"summary", summary_line(report)},
           {"exit_code", code}};
  out << doc.dump(2) << "\n";
}

}  // namespace afp::cli::profile
