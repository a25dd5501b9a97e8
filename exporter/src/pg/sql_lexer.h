#pragma once

// PostgreSQL's lexical structure, as far as canonical forms and redaction need it: strings
// (every quoting form), quoted identifiers, comments, parameters, numbers, operators and
// punctuation. Never fails: an unterminated string or comment runs to the end of the text.

#include <cstdint>
#include <string_view>
#include <vector>

namespace afp::pg::sql {

enum class Tok {
  space,
  comment,
  word,    // identifier or keyword
  quoted,  // "quoted identifier"
  string,  // '...', E'...', B'...', X'...', $tag$...$tag$
  param,   // $1
  number,
  op,  // operator characters
  lparen,
  rparen,
  lbracket,
  rbracket,
  comma,
  cast,  // ::
  dot,
  other,
};

struct Token {
  Tok kind;
  std::uint32_t begin;
  std::uint32_t end;
};

// The tokens of `sql`, covering it without gaps, in order.
std::vector<Token> tokenize(std::string_view sql);

bool is_space(char c);
// Case-insensitive comparison of a word with a lower-case keyword.
bool word_is(std::string_view word, std::string_view keyword);

}  // namespace afp::pg::sql
