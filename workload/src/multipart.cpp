#include "multipart.h"

#include <algorithm>

#include "core/ascii.h"

namespace afp::workload {

namespace {

constexpr std::size_t kMaxParts = 100;
constexpr std::size_t kMaxHeaderBytes = 8192;  // per part
constexpr std::size_t kMaxBoundary = 70;       // RFC 2046

bool is_token_char(char c) {
  if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  return std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

bool is_boundary_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         std::string_view("'()+_,-./:=? ").find(c) != std::string_view::npos;
}

// Reads "; key=value" parameters (token or quoted-string values) after a media type or a
// disposition type. Keys are lower-cased; a repeated key is an error.
class Parameters {
 public:
  Parameters(std::string_view text, std::string_view what) : text_(text), what_(what) {}

  // Consumes the leading type token.
  std::string type() {
    auto end = text_.find(';');
    auto type = core::trim_space(text_.substr(0, end));
    text_ = end == std::string_view::npos ? std::string_view() : text_.substr(end);
    std::string out;
    for (char c : type)
      out += core::ascii_lower(c);
    return out;
  }

  // The next parameter, false after the last.
  bool next(std::string* key, std::string* value) {
    text_ = core::trim_space(text_);
    if (text_.empty()) return false;
    if (text_.front() != ';') fail("expected ';'");
    text_ = core::trim_space(text_.substr(1));
    auto eq = text_.find('=');
    if (eq == std::string_view::npos) fail("a parameter without '='");
    auto name = core::trim_space(text_.substr(0, eq));
    if (name.empty() || !std::all_of(name.begin(), name.end(), is_token_char)) {
      fail("a bad parameter name");
    }
    key->clear();
    for (char c : name)
      *key += core::ascii_lower(c);
    text_ = core::trim_space(text_.substr(eq + 1));
    *value = text_.starts_with('"') ? quoted_string() : token();
    if (std::find(seen_.begin(), seen_.end(), *key) != seen_.end())
      fail("parameter " + *key + " given twice");
    seen_.push_back(*key);
    return true;
  }

 private:
  std::string token() {
    std::size_t n = 0;
    while (n < text_.size() && is_token_char(text_[n]))
      ++n;
    if (n == 0) fail("an empty parameter value");
    std::string out(text_.substr(0, n));
    text_.remove_prefix(n);
    return out;
  }

  std::string quoted_string() {
    std::string out;
    for (std::size_t i = 1; i < text_.size(); ++i) {
      char c = text_[i];
      if (c == '"') {
        text_.remove_prefix(i + 1);
        return out;
      }
      if (c == '\\') {
        if (++i == text_.size()) break;
        c = text_[i];
      }
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t')
        fail("a control byte in a quoted value");
      out += c;
    }
    fail("an unterminated quoted value");
  }

  [[noreturn]] void fail(const std::string& why) const {
    throw MultipartError(std::string(what_) + ": " + why);
  }

  std::string_view text_;
  std::string_view what_;
  std::vector<std::string> seen_;
};

void read_disposition(std::string_view value, MultipartPart& part) {
  Parameters params(value, "Content-Disposition");
  if (params.type() != "form-data") {
    throw MultipartError("Content-Disposition of a part is not form-data");
  }
  std::string key, text;
  bool named = false;
  while (params.next(&key, &text)) {
    if (key == "name") {
      part.name = text;
      named = true;
    } else if (key == "filename") {
      part.filename = text;
    }
  }
  if (!named) throw MultipartError("a part's Content-Disposition has no name");
}

// The header lines of one part (the text between its delimiter line and the empty line).
void read_headers(std::string_view headers, MultipartPart& part) {
  bool disposition = false, type = false;
  while (!headers.empty()) {
    auto end = headers.find("\r\n");
    auto line = headers.substr(0, end);
    headers = end == std::string_view::npos ? std::string_view() : headers.substr(end + 2);
    if (line.empty() || line.front() == ' ' || line.front() == '\t') {
      throw MultipartError("a folded or empty header line in a part");
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      throw MultipartError("a part header without a name");
    }
    auto name = line.substr(0, colon);
    auto value = core::trim_space(line.substr(colon + 1));
    if (core::iequals(name, "Content-Disposition")) {
      if (disposition) throw MultipartError("Content-Disposition given twice in a part");
      disposition = true;
      read_disposition(value, part);
    } else if (core::iequals(name, "Content-Type")) {
      if (type) throw MultipartError("Content-Type given twice in a part");
      type = true;
      part.content_type = value;
    }
  }
  if (!disposition) throw MultipartError("a part without Content-Disposition");
}

}  // namespace

std::optional<std::string> form_data_boundary(std::string_view content_type) {
  Parameters params(content_type, "Content-Type");
  std::string type = params.type();
  if (!type.starts_with("multipart/")) return std::nullopt;
  if (type != "multipart/form-data") {
    throw MultipartError("Content-Type " + type + " is not supported (use multipart/form-data)");
  }
  std::string key, value;
  std::optional<std::string> boundary;
  while (params.next(&key, &value)) {
    if (key == "boundary") boundary = value;
  }
  if (!boundary) throw MultipartError("multipart/form-data without a boundary");
  if (boundary->empty() || boundary->size() > kMaxBoundary || boundary->back() == ' ' ||
      !std::all_of(boundary->begin(), boundary->end(), is_boundary_char)) {
    throw MultipartError("multipart boundary must be 1 to 70 letters, digits or '()+_,-./:=? '");
  }
  return boundary;
}

std::vector<MultipartPart> parse_multipart(std::string_view body, std::string_view boundary) {
  const std::string dash_boundary = "--" + std::string(boundary);
  const std::string delimiter = "\r\n" + dash_boundary;  // the CRLF belongs to the boundary
  std::size_t at = 0;                                    // just past the current delimiter
  if (body.starts_with(dash_boundary)) {
    at = dash_boundary.size();
  } else if (auto first = body.find(delimiter); first != std::string_view::npos) {
    at = first + delimiter.size();  // after a preamble
  } else {
    throw MultipartError("no multipart boundary in the body");
  }
  std::vector<MultipartPart> parts;
  for (;;) {
    auto rest = body.substr(at);
    if (rest.starts_with("--")) break;  // the closing delimiter; the epilogue is ignored
    std::size_t padding = 0;            // transport padding before the line end
    while (padding < rest.size() && (rest[padding] == ' ' || rest[padding] == '\t'))
      ++padding;
    if (rest.substr(padding, 2) != "\r\n") {
      throw MultipartError(rest.size() == padding ? "the body ends without a closing boundary"
                                                  : "a malformed boundary line");
    }
    at += padding + 2;
    if (parts.size() == kMaxParts) throw MultipartError("more than 100 parts");
    MultipartPart part;
    std::size_t content = 0;
    if (body.substr(at).starts_with("\r\n")) {
      content = at + 2;  // no headers at all (refused below: no Content-Disposition)
      read_headers({}, part);
    } else {
      auto headers_end = body.find("\r\n\r\n", at);
      if (headers_end == std::string_view::npos) {
        throw MultipartError("the body ends inside a part's headers");
      }
      if (headers_end - at > kMaxHeaderBytes) throw MultipartError("a part's headers exceed 8 KiB");
      read_headers(body.substr(at, headers_end - at), part);
      content = headers_end + 4;
    }
    auto next = body.find(delimiter, content);
    if (next == std::string_view::npos) {
      throw MultipartError("the body ends inside a part (no closing boundary)");
    }
    part.body = body.substr(content, next - content);
    parts.push_back(std::move(part));
    at = next + delimiter.size();
  }
  return parts;
}

const MultipartPart* find_upload(const std::vector<MultipartPart>& parts) {
  for (const auto& part : parts) {
    if (part.filename || part.name == "file") return &part;
  }
  return nullptr;
}

}  // namespace afp::workload
