#include "pg/sql_canonical.h"

#include <algorithm>
#include <charconv>
#include <unordered_map>
#include <vector>

#include "core/ascii.h"
#include "pg/sql_lexer.h"

namespace afp::pg {

namespace {

using sql::is_space;
using sql::Tok;
using sql::Token;
using sql::word_is;

// ---- Which lists are parameter-like ----

// Recursive descent over the significant tokens (no spaces, no comments). Each parse
// function returns the index after what it accepted, or kFail.
constexpr std::size_t kFail = static_cast<std::size_t>(-1);

class ListParser {
 public:
  ListParser(std::string_view sql, const std::vector<Token>& tokens) : sql_(sql), t_(tokens) {}

  // IN ( item, ... ): i at the '('.
  std::size_t in_list(std::size_t i) const { return items(i, Tok::lparen, Tok::rparen, false); }

  // VALUES (item, ...), (item, ...): i at the first '('.
  std::size_t values_list(std::size_t i) const {
    for (;;) {
      i = items(i, Tok::lparen, Tok::rparen, false);
      if (i == kFail) return kFail;
      if (kind(i) != Tok::comma) return i;
      ++i;
      if (kind(i) != Tok::lparen) return kFail;
    }
  }

  bool word(std::size_t i, std::string_view keyword) const {
    return kind(i) == Tok::word && word_is(text(i), keyword);
  }
  Tok kind(std::size_t i) const { return i < t_.size() ? t_[i].kind : Tok::other; }

 private:
  std::string_view text(std::size_t i) const {
    return sql_.substr(t_[i].begin, t_[i].end - t_[i].begin);
  }

  // open item (, item)* close — or nothing between them when allow_empty.
  std::size_t items(std::size_t i, Tok open, Tok close, bool allow_empty) const {
    if (kind(i) != open) return kFail;
    ++i;
    if (allow_empty && kind(i) == close) return i + 1;
    for (;;) {
      i = item(i);
      if (i == kFail) return kFail;
      if (kind(i) == close) return i + 1;
      if (kind(i) != Tok::comma) return kFail;
      ++i;
    }
  }

  // unary* term postfix* (op unary* term postfix*)*
  std::size_t item(std::size_t i, int depth = 0) const {
    if (depth > 32) return kFail;  // deeply nested: not worth it
    for (;;) {
      while (kind(i) == Tok::op && (text(i) == "-" || text(i) == "+"))
        ++i;
      i = term(i, depth);
      if (i == kFail) return kFail;
      while (kind(i) == Tok::cast) {
        i = type_name(i + 1);
        if (i == kFail) return kFail;
      }
      if (kind(i) != Tok::op) return i;
      ++i;
    }
  }

  std::size_t term(std::size_t i, int depth) const {
    switch (kind(i)) {
      case Tok::param:
      case Tok::number:
      case Tok::string:
        return i + 1;
      case Tok::lparen: {  // (item) or a row (item, item)
        ++i;
        for (;;) {
          i = item(i, depth + 1);
          if (i == kFail) return kFail;
          if (kind(i) == Tok::rparen) return i + 1;
          if (kind(i) != Tok::comma) return kFail;
          ++i;
        }
      }
      case Tok::word:
        break;
      default:
        return kFail;
    }
    auto w = text(i);
    if (word_is(w, "null") || word_is(w, "true") || word_is(w, "false") || word_is(w, "default")) {
      return i + 1;
    }
    if (word_is(w, "cast") && kind(i + 1) == Tok::lparen) {
      i = item(i + 2, depth + 1);
      if (i == kFail || !word(i, "as")) return kFail;
      i = type_name(i + 1);
      return i != kFail && kind(i) == Tok::rparen ? i + 1 : kFail;
    }
    if (word_is(w, "array") && kind(i + 1) == Tok::lbracket) {
      return bracket_items(i + 1, depth);
    }
    for (auto keyword : {"select", "values", "with", "table", "exists", "not", "and", "or", "case",
                         "any", "all", "some", "in", "is", "like", "between"}) {
      if (word_is(w, keyword)) return kFail;
    }
    // A typed literal: date $1, interval '1 day'.
    if (kind(i + 1) == Tok::param || kind(i + 1) == Tok::string) return i + 2;
    // A function call, possibly schema-qualified: decode($1, $2), pg_catalog.lower($1).
    std::size_t j = i + 1;
    while (kind(j) == Tok::dot && (kind(j + 1) == Tok::word || kind(j + 1) == Tok::quoted))
      j += 2;
    if (kind(j) != Tok::lparen) return kFail;  // a column
    ++j;
    if (kind(j) == Tok::rparen) return j + 1;  // now()
    for (;;) {
      j = item(j, depth + 1);
      if (j == kFail) return kFail;
      if (kind(j) == Tok::rparen) return j + 1;
      if (kind(j) != Tok::comma) return kFail;
      ++j;
    }
  }

  std::size_t bracket_items(std::size_t i, int depth) const {
    // ARRAY[[[[...: one recursion per '[', so the depth is limited as in item().
    if (depth > 32) return kFail;
    ++i;  // '['
    if (kind(i) == Tok::rbracket) return i + 1;
    for (;;) {
      if (kind(i) == Tok::lbracket) {
        i = bracket_items(i, depth + 1);  // nested ARRAY[[...], [...]]
      } else {
        i = item(i, depth + 1);
      }
      if (i == kFail) return kFail;
      if (kind(i) == Tok::rbracket) return i + 1;
      if (kind(i) != Tok::comma) return kFail;
      ++i;
    }
  }

  // bytea, pg_catalog.int4, "char", character varying(10), timestamp(3) with time zone,
  // numeric(10, 2), int[], text[][]
  std::size_t type_name(std::size_t i) const {
    if (kind(i) != Tok::word && kind(i) != Tok::quoted) return kFail;
    ++i;
    while (kind(i) == Tok::dot && (kind(i + 1) == Tok::word || kind(i + 1) == Tok::quoted))
      i += 2;
    auto type_words = [&](std::size_t j) {
      while (kind(j) == Tok::word &&
             (word(j, "varying") || word(j, "precision") || word(j, "with") || word(j, "without") ||
              word(j, "time") || word(j, "zone")))
        ++j;
      return j;
    };
    i = type_words(i);
    if (kind(i) == Tok::lparen) {
      ++i;
      for (;;) {
        if (kind(i) != Tok::number && kind(i) != Tok::param) return kFail;
        ++i;
        if (kind(i) == Tok::rparen) break;
        if (kind(i) != Tok::comma) return kFail;
        ++i;
      }
      ++i;
      i = type_words(i);
    }
    while (kind(i) == Tok::lbracket) {
      ++i;
      if (kind(i) == Tok::number || kind(i) == Tok::param) ++i;
      if (kind(i) != Tok::rbracket) return kFail;
      ++i;
    }
    return i;
  }

  std::string_view sql_;
  const std::vector<Token>& t_;
};

// ---- Hashing and text output ----

constexpr std::uint64_t kFnvOffset = 14695981039346656037ULL;
constexpr std::uint64_t kFnvPrime = 1099511628211ULL;

struct Fnv {
  std::uint64_t h = kFnvOffset;
  void byte(char c) {
    h ^= static_cast<unsigned char>(c);
    h *= kFnvPrime;
  }
  void bytes(std::string_view s) {
    for (char c : s)
      byte(c);
  }
  void token_end() { byte('\x1f'); }
};

void append_collapsed(std::string& out, std::string_view text) {
  bool in_space = false;
  for (char c : text) {
    if (is_space(c)) {
      in_space = true;
      continue;
    }
    if (in_space && !out.empty() && out.back() != ' ') out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
}

std::vector<Token> significant_tokens(const std::vector<Token>& tokens) {
  std::vector<Token> sig;
  sig.reserve(tokens.size());
  for (const auto& t : tokens) {
    if (t.kind != Tok::space && t.kind != Tok::comment) sig.push_back(t);
  }
  return sig;
}

// For the '(' at significant index i that opens a list to collapse, element i is the index
// after the list's last ')'; every other element is 0.
std::vector<std::size_t> lists_to_collapse(std::string_view sql, const std::vector<Token>& sig) {
  ListParser parser(sql, sig);
  std::vector<std::size_t> collapse_end(sig.size(), 0);
  for (std::size_t i = 0; i + 1 < sig.size(); ++i) {
    if (sig[i + 1].kind != Tok::lparen) continue;
    std::size_t end = kFail;
    if (parser.word(i, "in")) {
      end = parser.in_list(i + 1);
    } else if (parser.word(i, "values")) {
      end = parser.values_list(i + 1);
    }
    if (end != kFail) {
      collapse_end[i + 1] = end;
      i = end - 1;  // nothing inside a collapsed list is looked at again
    }
  }
  return collapse_end;
}

}  // namespace

CanonicalText canonicalize(std::string_view sql) {
  auto tokens = sql::tokenize(sql);
  std::vector<Token> sig = significant_tokens(tokens);
  std::vector<std::size_t> collapse_end = lists_to_collapse(sql, sig);
  bool merged = std::any_of(collapse_end.begin(), collapse_end.end(),
                            [](std::size_t end) { return end != 0; });

  CanonicalText out;
  out.merged = merged;
  out.text.reserve(std::min<std::size_t>(sql.size(), 4096));
  Fnv fnv;
  // Parameters renumbered (merged texts only): old number → new number. A hash map: a
  // text can hold a hundred thousand distinct parameters.
  std::unordered_map<std::uint64_t, std::uint64_t> renumbered;
  std::size_t s = 0;  // index into sig, in step with the walk over all tokens
  bool pending_space = false;
  auto put = [&](std::string_view text) {
    if (pending_space && !out.text.empty()) out.text.push_back(' ');
    pending_space = false;
    out.text.append(text);
  };
  for (std::size_t k = 0; k < tokens.size(); ++k) {
    const Token& t = tokens[k];
    auto text = sql.substr(t.begin, t.end - t.begin);
    if (t.kind == Tok::space) {
      pending_space = true;
      continue;
    }
    if (t.kind == Tok::comment) {
      if (pending_space && !out.text.empty()) out.text.push_back(' ');
      pending_space = false;
      append_collapsed(out.text, text);
      continue;
    }
    // t is sig[s].
    if (std::size_t end = collapse_end[s]; end != 0) {
      put("(...)");
      fnv.bytes("(...)");
      fnv.token_end();
      // Skip every token up to the list's closing ')'.
      std::uint32_t stop = sig[end - 1].end;
      while (k + 1 < tokens.size() && tokens[k + 1].begin < stop)
        ++k;
      s = end;
      continue;
    }
    ++s;
    switch (t.kind) {
      case Tok::word:
        for (char c : text)
          fnv.byte(core::ascii_lower(c));
        put(text);
        break;
      case Tok::param: {
        fnv.byte('$');
        if (!merged) {
          put(text);
          break;
        }
        std::uint64_t old_number = 0;
        std::from_chars(text.data() + 1, text.data() + text.size(), old_number);
        auto number = renumbered.try_emplace(old_number, renumbered.size() + 1).first->second;
        put("$" + std::to_string(number));
        break;
      }
      default:
        fnv.bytes(text);
        put(text);
        break;
    }
    fnv.token_end();
  }
  out.hash = fnv.h;
  return out;
}

}  // namespace afp::pg
