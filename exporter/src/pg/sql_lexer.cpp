#include "pg/sql_lexer.h"

#include "core/ascii.h"

namespace afp::pg::sql {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool word_is(std::string_view word, std::string_view keyword) {
  if (word.size() != keyword.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    if (core::ascii_lower(word[i]) != keyword[i]) return false;
  }
  return true;
}

namespace {

bool is_word_start(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
         static_cast<unsigned char>(c) >= 0x80;
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_word_char(char c) {
  return is_word_start(c) || is_digit(c) || c == '$';
}
bool is_op_char(char c) {
  switch (c) {
    case '+':
    case '-':
    case '*':
    case '/':
    case '<':
    case '>':
    case '=':
    case '~':
    case '!':
    case '@':
    case '#':
    case '%':
    case '^':
    case '&':
    case '|':
    case '`':
    case '?':
      return true;
    default:
      return false;
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  std::vector<Token> run() {
    std::vector<Token> out;
    while (i_ < s_.size()) {
      std::size_t begin = i_;
      Tok kind = next();
      out.push_back({kind, static_cast<std::uint32_t>(begin), static_cast<std::uint32_t>(i_)});
    }
    return out;
  }

 private:
  char at(std::size_t i) const { return i < s_.size() ? s_[i] : '\0'; }

  Tok next() {
    char c = s_[i_];
    if (is_space(c)) {
      while (i_ < s_.size() && is_space(s_[i_]))
        ++i_;
      return Tok::space;
    }
    if (c == '-' && at(i_ + 1) == '-') {
      while (i_ < s_.size() && s_[i_] != '\n')
        ++i_;
      return Tok::comment;
    }
    if (c == '/' && at(i_ + 1) == '*') {
      block_comment();
      return Tok::comment;
    }
    if (c == '\'') {
      quoted('\'', false);
      return Tok::string;
    }
    if (c == '"') {
      quoted('"', false);
      return Tok::quoted;
    }
    if (c == '$') {
      if (is_digit(at(i_ + 1))) {
        ++i_;
        while (is_digit(at(i_)))
          ++i_;
        return Tok::param;
      }
      if (dollar_quote()) return Tok::string;
      ++i_;
      return Tok::other;
    }
    if (is_digit(c) || (c == '.' && is_digit(at(i_ + 1)))) {
      number();
      return Tok::number;
    }
    if (is_word_start(c)) {
      std::size_t begin = i_;
      while (i_ < s_.size() && is_word_char(s_[i_]))
        ++i_;
      // E'...' (backslash escapes), B'...', X'...', N'...': one string token.
      if (at(i_) == '\'' && i_ - begin == 1) {
        char p = core::ascii_lower(s_[begin]);
        if (p == 'e' || p == 'b' || p == 'x' || p == 'n') {
          quoted('\'', p == 'e');
          return Tok::string;
        }
      }
      return Tok::word;
    }
    if (c == ':' && at(i_ + 1) == ':') {
      i_ += 2;
      return Tok::cast;
    }
    if (is_op_char(c)) {
      // An operator ends where a comment begins.
      while (i_ < s_.size() && is_op_char(s_[i_]) && !(s_[i_] == '-' && at(i_ + 1) == '-') &&
             !(s_[i_] == '/' && at(i_ + 1) == '*'))
        ++i_;
      return Tok::op;
    }
    ++i_;
    switch (c) {
      case '(':
        return Tok::lparen;
      case ')':
        return Tok::rparen;
      case '[':
        return Tok::lbracket;
      case ']':
        return Tok::rbracket;
      case ',':
        return Tok::comma;
      case '.':
        return Tok::dot;
      default:
        return Tok::other;
    }
  }

  void block_comment() {  // nested, as PostgreSQL's
    int depth = 0;
    while (i_ < s_.size()) {
      if (s_[i_] == '/' && at(i_ + 1) == '*') {
        ++depth;
        i_ += 2;
      } else if (s_[i_] == '*' && at(i_ + 1) == '/') {
        i_ += 2;
        if (--depth == 0) return;
      } else {
        ++i_;
      }
    }
  }

  // From the opening quote at i_ to after the closing one; a doubled quote is one quote.
  void quoted(char q, bool backslash_escapes) {
    ++i_;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (backslash_escapes && c == '\\') {
        i_ += 2;
      } else if (c == q) {
        if (at(i_ + 1) == q) {
          i_ += 2;
        } else {
          ++i_;
          return;
        }
      } else {
        ++i_;
      }
    }
    i_ = s_.size();
  }

  // $$...$$ or $tag$...$tag$; false (nothing consumed) when i_ starts no dollar quote.
  bool dollar_quote() {
    std::size_t j = i_ + 1;
    if (at(j) != '$') {
      if (!is_word_start(at(j)) || static_cast<unsigned char>(at(j)) >= 0x80) return false;
      while (j < s_.size() && (is_word_start(s_[j]) || is_digit(s_[j])))
        ++j;
      if (at(j) != '$') return false;
    }
    std::string_view tag = s_.substr(i_, j + 1 - i_);
    auto close = s_.find(tag, j + 1);
    i_ = close == std::string_view::npos ? s_.size() : close + tag.size();
    return true;
  }

  void number() {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if ((c == 'e' || c == 'E') && (at(i_ + 1) == '+' || at(i_ + 1) == '-') &&
          is_digit(at(i_ + 2))) {
        i_ += 2;
      } else if (is_digit(c) || c == '.' || is_word_start(c)) {
        if (c == '.' && at(i_ + 1) == '.') return;  // 1..2 in array slices
        ++i_;
      } else {
        return;
      }
    }
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

}  // namespace

std::vector<Token> tokenize(std::string_view sql) {
  return Lexer(sql).run();
}

}  // namespace afp::pg::sql
