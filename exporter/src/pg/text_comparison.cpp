#include "pg/text_comparison.h"

#include <string>
#include <vector>

#include "core/ascii.h"
#include "pg/sql_lexer.h"

namespace afp::pg {

namespace {

using sql::Tok;

// The statement's tokens without whitespace and comments, read by position.
class Tokens {
 public:
  explicit Tokens(std::string_view text) : text_(text) {
    for (const auto& t : sql::tokenize(text)) {
      if (t.kind != Tok::space && t.kind != Tok::comment) tokens_.push_back(t);
    }
  }
  std::size_t size() const { return tokens_.size(); }
  // Out of range reads as Tok::other, so look-behind and look-ahead need no bounds checks.
  Tok kind(std::size_t i) const { return i < tokens_.size() ? tokens_[i].kind : Tok::other; }
  std::string_view text(std::size_t i) const {
    if (i >= tokens_.size()) return {};
    return text_.substr(tokens_[i].begin, tokens_[i].end - tokens_[i].begin);
  }
  bool word(std::size_t i, std::string_view keyword) const {
    return kind(i) == Tok::word && sql::word_is(text(i), keyword);
  }

  // Whether token i is the identifier `name` (raw): an unquoted word folds to lower case.
  bool names(std::size_t i, std::string_view name) const {
    auto t = text(i);
    if (kind(i) == Tok::word) {
      if (t.size() != name.size()) return false;
      for (std::size_t k = 0; k < t.size(); ++k) {
        if (core::ascii_lower(t[k]) != name[k]) return false;
      }
      return true;
    }
    if (kind(i) != Tok::quoted || t.size() < 2) return false;
    std::string unquoted;
    for (std::size_t k = 1; k + 1 < t.size(); ++k) {
      unquoted += t[k];
      if (t[k] == '"') ++k;  // "" is one quote
    }
    return unquoted == name;
  }

 private:
  std::string_view text_;
  std::vector<sql::Token> tokens_;
};

// A text type's name, as it follows :: or AS (pg_catalog. prefix skipped by the caller).
bool is_text_type(const Tokens& t, std::size_t i) {
  for (auto type : {"text", "varchar", "char", "character", "bpchar", "name", "citext"}) {
    if (t.word(i, type)) return true;
  }
  return false;
}

// Skips a "pg_catalog." prefix of a type or function name.
std::size_t skip_catalog(const Tokens& t, std::size_t i) {
  return t.word(i, "pg_catalog") && t.kind(i + 1) == Tok::dot ? i + 2 : i;
}

// The first token of the column reference that ends at i: "hash", "f.hash", "s.f.hash".
std::size_t reference_start(const Tokens& t, std::size_t i) {
  while (i >= 2 && t.kind(i - 1) == Tok::dot &&
         (t.kind(i - 2) == Tok::word || t.kind(i - 2) == Tok::quoted)) {
    i -= 2;
  }
  return i;
}

// Whether the column reference at [start, end] is converted to text around it.
bool converted_to_text(const Tokens& t, std::size_t start, std::size_t end) {
  if (t.kind(end + 1) == Tok::cast && is_text_type(t, skip_catalog(t, end + 2))) return true;
  if (start < 2 || t.kind(start - 1) != Tok::lparen) return false;
  const std::size_t fn = start - 2;
  if (t.word(fn, "cast")) {
    return t.word(end + 1, "as") && is_text_type(t, skip_catalog(t, end + 2));
  }
  // encode(hash, 'hex'), text(hash), varchar(hash), possibly as pg_catalog.encode(...).
  return t.word(fn, "encode") || t.word(fn, "text") || t.word(fn, "varchar");
}

// Condition clauses start at these words and end at the clause words that follow them.
bool starts_condition(const Tokens& t, std::size_t i) {
  return t.word(i, "where") || t.word(i, "on") || t.word(i, "having");
}
bool ends_condition(const Tokens& t, std::size_t i) {
  for (auto clause : {"select", "from", "group", "order", "limit", "returning", "set", "values",
                      "union", "window", "do"}) {
    if (t.word(i, clause)) return true;
  }
  return false;
}

}  // namespace

bool compares_column_as_text(std::string_view query, std::string_view table,
                             std::string_view column) {
  Tokens t(query);
  bool reads_table = false;
  for (std::size_t i = 0; i < t.size() && !reads_table; ++i)
    reads_table = t.names(i, table);
  if (!reads_table) return false;
  bool in_condition = false;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (starts_condition(t, i)) in_condition = true;
    if (ends_condition(t, i)) in_condition = false;
    if (in_condition && t.names(i, column) && converted_to_text(t, reference_start(t, i), i)) {
      return true;
    }
  }
  return false;
}

}  // namespace afp::pg
