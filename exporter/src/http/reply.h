#pragma once

#include <string>

namespace afp::http {

// A response as a connection writes it: the status line and header lines (each ending in
// CRLF, without the blank line that ends the head, so the connection can still add its
// own Connection header) and the body (empty for HEAD).
struct Reply {
  std::string head;
  std::string body;
};

// "HTTP/1.1 <status> <reason>\r\n".
std::string status_line(int status);

}  // namespace afp::http
