#include "pg/sql_redact.h"

#include <cstddef>
#include <vector>

#include "pg/sql_lexer.h"

namespace afp::pg {

namespace {

using sql::Tok;
using sql::Token;

bool significant(const Token& t) {
  return t.kind != Tok::space && t.kind != Tok::comment;
}

// A plain '...' (not E'...', which the lexer reads with its escapes) holding a backslash.
bool ambiguous_end(std::string_view text) {
  return text.starts_with('\'') && text.find('\\') != std::string_view::npos;
}

// The index of the token a PASSWORD keyword at `i` applies to, or npos. PostgreSQL takes
// only a string or NULL there, and a string is redacted anyway; a number or a quoted name
// is redacted too in case a future form takes one. Words ($n, NULL, FROM of a column named
// password) and punctuation are kept.
std::size_t password_operand(const std::vector<Token>& tokens, std::size_t i) {
  for (std::size_t k = i + 1; k < tokens.size(); ++k) {
    const Token& t = tokens[k];
    if (!significant(t)) continue;
    return t.kind == Tok::number || t.kind == Tok::quoted ? k : std::string_view::npos;
  }
  return std::string_view::npos;
}

}  // namespace

std::string redact_sql(std::string_view sql) {
  auto tokens = sql::tokenize(sql);
  std::string out;
  out.reserve(sql.size());
  std::size_t redact = std::string_view::npos;  // a token that must go: a password operand
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    const Token& t = tokens[k];
    auto text = sql.substr(t.begin, t.end - t.begin);
    if (t.kind == Tok::string && ambiguous_end(text)) {
      out += kRedactedLiteral;
      return out;
    }
    if (t.kind == Tok::string || k == redact) {
      out += kRedactedLiteral;
      continue;
    }
    if (t.kind == Tok::word && sql::word_is(text, "password")) {
      redact = password_operand(tokens, k);
    }
    out += text;
  }
  return out;
}

}  // namespace afp::pg
