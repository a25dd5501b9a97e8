#pragma once

// A strict multipart/form-data reader (RFC 7578 over RFC 2046) for uploads to /identify:
// CRLF line ends, a Content-Disposition of form-data with a name on every part, a closing
// delimiter. Anything else is refused with the reason, never guessed at.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace afp::workload {

class MultipartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct MultipartPart {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;  // "" when the part has none
  std::string_view body;     // points into the parsed request body
};

// The boundary of a "multipart/form-data; boundary=..." Content-Type; nullopt for a type
// that is not multipart at all. Throws MultipartError for another multipart type or a
// missing or malformed boundary.
std::optional<std::string> form_data_boundary(std::string_view content_type);

// Throws MultipartError naming the first fault.
std::vector<MultipartPart> parse_multipart(std::string_view body, std::string_view boundary);
// The parts' bodies point into `body`, so a temporary would leave them dangling.
std::vector<MultipartPart> parse_multipart(std::string&& body, std::string_view boundary) = delete;

// The uploaded file: the first part that has a filename or is named "file"; nullptr if none.
const MultipartPart* find_upload(const std::vector<MultipartPart>& parts);

}  // namespace afp::workload
