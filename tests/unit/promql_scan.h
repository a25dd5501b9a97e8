#pragma once

// A small PromQL scanner for linting Grafana dashboard queries: it finds every vector
// selector (metric name, label matchers, range) and the function whose argument it is, the
// way grafana/dashboard-linter walks the PromQL syntax tree, without needing Prometheus's
// parser. Grafana template variables ($var, ${var}) are allowed where Grafana puts them:
// in matcher values and range durations. Whether a query really parses is left to
// Prometheus itself (tests/e2e/dashboards_live.sh); this catches what a query that parses
// can still get wrong.

#include <cctype>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace afp::test {

struct PromMatcher {
  std::string label;
  std::string op;     // =, !=, =~, !~
  std::string value;  // as written between the quotes, escapes untouched
};

struct PromSelector {
  std::string name;  // empty for {__name__=...}
  std::vector<PromMatcher> matchers;
  std::optional<std::string> range;  // what stands between [ and ], e.g. "$__rate_interval"
  std::string call;                  // function or aggregation it is a direct argument of
};

struct PromScan {
  std::vector<PromSelector> selectors;
  std::vector<std::string> calls;   // every function and aggregation used
  std::vector<std::string> errors;  // empty when the expression looks well-formed
};

namespace promql_detail {

enum class Tok { Ident, Number, Duration, String, Var, Punct, End };

struct Token {
  Tok kind;
  std::string text;
};

inline bool ident_start(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) || c == '_' || c == ':';
}
inline bool ident_char(char c) {
  return ident_start(c) || std::isdigit(static_cast<unsigned char>(c));
}

inline std::vector<Token> lex(std::string_view s, std::vector<std::string>& errors) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '#') {
      while (i < s.size() && s[i] != '\n')
        ++i;
    } else if (c == '"' || c == '\'' || c == '`') {
      size_t j = i + 1;
      std::string v;
      while (j < s.size() && s[j] != c) {
        if (s[j] == '\\' && c != '`' && j + 1 < s.size()) v += s[j++];
        v += s[j++];
      }
      if (j >= s.size()) errors.push_back("unterminated string");
      out.push_back({Tok::String, v});
      i = j + 1;
    } else if (c == '$') {
      size_t j = i + 1;
      std::string name;
      if (j < s.size() && s[j] == '{') {
        size_t close = s.find('}', j);
        if (close == std::string_view::npos) {
          errors.push_back("unterminated ${");
          break;
        }
        name = std::string(s.substr(j + 1, close - j - 1));
        i = close + 1;
      } else {
        while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) {
          name += s[j++];
        }
        i = j;
      }
      if (name.empty()) errors.push_back("a lone $");
      out.push_back({Tok::Var, name});
    } else if (std::isdigit(static_cast<unsigned char>(c)) ||
               (c == '.' && i + 1 < s.size() &&
                std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      size_t j = i;
      while (j < s.size() && (std::isdigit(static_cast<unsigned char>(s[j])) || s[j] == '.'))
        ++j;
      bool duration = false;
      if (j < s.size() && (s[j] == 'e' || s[j] == 'E') && j + 1 < s.size() &&
          (std::isdigit(static_cast<unsigned char>(s[j + 1])) || s[j + 1] == '-' ||
           s[j + 1] == '+')) {
        j += 2;
        while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j])))
          ++j;
      } else if (j < s.size() && std::string_view("smhdwy").find(s[j]) != std::string_view::npos) {
        duration = true;  // 5m, 1h30m, 500ms
        while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j])))
          ++j;
      }
      out.push_back({duration ? Tok::Duration : Tok::Number, std::string(s.substr(i, j - i))});
      i = j;
    } else if (ident_start(c)) {
      size_t j = i;
      while (j < s.size() && ident_char(s[j]))
        ++j;
      out.push_back({Tok::Ident, std::string(s.substr(i, j - i))});
      i = j;
    } else {
      static const char* two[] = {"==", "!=", "=~", "!~", "<=", ">="};
      std::string p(1, c);
      for (const char* t : two) {
        if (s.substr(i, 2) == t) p = t;
      }
      if (p.size() == 1 &&
          std::string_view("(){}[],=<>+-*/%^:@").find(c) == std::string_view::npos) {
        errors.push_back(std::string("unexpected character '") + c + "'");
      }
      out.push_back({Tok::Punct, p});
      i += p.size();
    }
  }
  out.push_back({Tok::End, ""});
  return out;
}

inline const std::set<std::string>& functions() {
  static const std::set<std::string> f{"abs",
                                       "absent",
                                       "absent_over_time",
                                       "acos",
                                       "acosh",
                                       "asin",
                                       "asinh",
                                       "atan",
                                       "atanh",
                                       "avg_over_time",
                                       "ceil",
                                       "changes",
                                       "clamp",
                                       "clamp_max",
                                       "clamp_min",
                                       "cos",
                                       "cosh",
                                       "count_over_time",
                                       "day_of_month",
                                       "day_of_week",
                                       "day_of_year",
                                       "days_in_month",
                                       "deg",
                                       "delta",
                                       "deriv",
                                       "exp",
                                       "floor",
                                       "histogram_quantile",
                                       "holt_winters",
                                       "hour",
                                       "idelta",
                                       "increase",
                                       "irate",
                                       "label_join",
                                       "label_replace",
                                       "last_over_time",
                                       "ln",
                                       "log10",
                                       "log2",
                                       "max_over_time",
                                       "min_over_time",
                                       "minute",
                                       "month",
                                       "pi",
                                       "predict_linear",
                                       "present_over_time",
                                       "quantile_over_time",
                                       "rad",
                                       "rate",
                                       "resets",
                                       "round",
                                       "scalar",
                                       "sgn",
                                       "sin",
                                       "sinh",
                                       "sort",
                                       "sort_desc",
                                       "sqrt",
                                       "stddev_over_time",
                                       "stdvar_over_time",
                                       "sum_over_time",
                                       "tan",
                                       "tanh",
                                       "time",
                                       "timestamp",
                                       "vector",
                                       "year"};
  return f;
}

inline const std::set<std::string>& aggregations() {
  static const std::set<std::string> a{"sum",    "min",   "max",          "avg",
                                       "group",  "count", "count_values", "stddev",
                                       "stdvar", "topk",  "bottomk",      "quantile"};
  return a;
}

inline bool is_label_list_keyword(const std::string& s) {
  return s == "by" || s == "without" || s == "on" || s == "ignoring" || s == "group_left" ||
         s == "group_right";
}

inline bool is_keyword(const std::string& s) {
  std::string l;
  for (char c : s)
    l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return is_label_list_keyword(s) || s == "and" || s == "or" || s == "unless" || s == "bool" ||
         s == "offset" || l == "inf" || l == "nan";
}

}  // namespace promql_detail

inline PromScan scan_promql(std::string_view expr) {
  using namespace promql_detail;
  PromScan r;
  std::vector<Token> t = lex(expr, r.errors);
  std::vector<std::string> stack;  // open parentheses: the function they call, "" for grouping
  size_t i = 0;

  auto skip_label_list = [&](size_t& k) {  // t[k] is "(": skip to after its ")"
    ++k;
    while (t[k].kind != Tok::End && !(t[k].kind == Tok::Punct && t[k].text == ")")) {
      if (t[k].kind != Tok::Ident && !(t[k].kind == Tok::Punct && t[k].text == ",")) {
        r.errors.push_back("unexpected '" + t[k].text + "' in a label list");
      }
      ++k;
    }
    if (t[k].kind == Tok::End) {
      r.errors.push_back("unclosed label list");
    } else {
      ++k;
    }
  };
  auto is = [&](size_t k, const char* p) { return t[k].kind == Tok::Punct && t[k].text == p; };

  auto selector = [&](std::string name) {  // t[i] is just after the name, or at "{"
    PromSelector s;
    s.name = std::move(name);
    s.call = stack.empty() ? "" : stack.back();
    if (is(i, "{")) {
      ++i;
      while (!is(i, "}") && t[i].kind != Tok::End) {
        if (t[i].kind != Tok::Ident) {
          r.errors.push_back("expected a label name, got '" + t[i].text + "'");
          break;
        }
        PromMatcher m{t[i].text, "", ""};
        ++i;
        if (t[i].kind == Tok::Punct &&
            (t[i].text == "=" || t[i].text == "!=" || t[i].text == "=~" || t[i].text == "!~")) {
          m.op = t[i].text;
          ++i;
        } else {
          r.errors.push_back("expected a matcher operator after " + m.label);
          break;
        }
        if (t[i].kind != Tok::String) {
          r.errors.push_back("expected a quoted value for " + m.label);
          break;
        }
        m.value = t[i].text;
        ++i;
        s.matchers.push_back(m);
        if (is(i, ",")) ++i;
      }
      if (!is(i, "}")) {
        r.errors.push_back("unclosed {");
        return;
      }
      ++i;
    }
    if (is(i, "[")) {
      ++i;
      std::string range;
      while (!is(i, "]") && t[i].kind != Tok::End) {
        if (t[i].kind == Tok::Var) {
          range += "$" + t[i].text;
        } else if (t[i].kind == Tok::Duration || t[i].kind == Tok::Number) {
          range += t[i].text;
        } else {
          r.errors.push_back("unexpected '" + t[i].text + "' in a range");
          range += t[i].text;
        }
        ++i;
      }
      if (!is(i, "]"))
        r.errors.push_back("unclosed [");
      else
        ++i;
      s.range = range;
    }
    r.selectors.push_back(std::move(s));
  };

  while (t[i].kind != Tok::End) {
    const Token& k = t[i];
    if (k.kind == Tok::Ident) {
      bool aggregation = aggregations().count(k.text) > 0;
      if (is(i + 1, "(")) {
        if (is_label_list_keyword(k.text)) {
          ++i;
          skip_label_list(i);
          continue;
        }
        if (functions().count(k.text) == 0 && !aggregation) {
          r.errors.push_back("unknown function " + k.text);
        }
        r.calls.push_back(k.text);
        stack.push_back(k.text);
        i += 2;
        // sum(...) by (labels) is handled below as a keyword followed by a list.
        continue;
      }
      if (aggregation && t[i + 1].kind == Tok::Ident &&
          (t[i + 1].text == "by" || t[i + 1].text == "without") && is(i + 2, "(")) {
        size_t j = i + 2;
        skip_label_list(j);
        if (!is(j, "(")) {
          r.errors.push_back(k.text + " " + t[i + 1].text + " (...) must be followed by (");
          i = j;
          continue;
        }
        r.calls.push_back(k.text);
        stack.push_back(k.text);
        i = j + 1;
        continue;
      }
      if (is_keyword(k.text)) {
        ++i;
        if (k.text == "offset") {
          if (t[i].kind == Tok::Duration || t[i].kind == Tok::Var)
            ++i;
          else
            r.errors.push_back("offset without a duration");
        }
        continue;
      }
      ++i;
      selector(k.text);
      continue;
    }
    if (k.kind == Tok::Punct) {
      if (k.text == "{") {
        selector("");
        continue;
      }
      if (k.text == "(") {
        stack.push_back("");
      } else if (k.text == ")") {
        if (stack.empty())
          r.errors.push_back("unbalanced )");
        else
          stack.pop_back();
      } else if (k.text == "[") {
        // A subquery range after a parenthesised expression: ( ... )[1h:1m].
        while (!is(i, "]") && t[i].kind != Tok::End)
          ++i;
        if (t[i].kind == Tok::End) r.errors.push_back("unclosed [");
      } else if (k.text == "}" || k.text == "]") {
        r.errors.push_back("unbalanced " + k.text);
      }
      ++i;
      continue;
    }
    if (k.kind == Tok::Duration) r.errors.push_back("a duration outside a range: " + k.text);
    if (k.kind == Tok::Var) r.errors.push_back("a variable outside a matcher or range: $" + k.text);
    ++i;
  }
  if (!stack.empty()) r.errors.push_back("unclosed (");
  return r;
}

}  // namespace afp::test
