#pragma once

#include <functional>
#include <optional>
#include <string>

namespace afp::http {

class BodySink;

// What a response's head is made of before its body's size is known.
struct ReplyHead {
  std::string start;  // the status line and Content-Type
  std::string extra;  // the response's own header lines
  bool gzip_accepted = false;
  bool head_only = false;  // HEAD: the head as for GET, no body
};

// A body produced while it is sent (a scrape): the connection runs produce() on a worker
// and sends what it writes (http/body_stream.h).
struct StreamedBody {
  ReplyHead head;
  std::function<void(BodySink&)> produce;
};

// A response as a connection writes it: the status line and header lines (each ending in
// CRLF, without the blank line that ends the head, so the connection can still add its
// own Connection header) and the body (empty for HEAD); or, with `streamed`, neither yet.
struct Reply {
  std::string head;
  std::string body;
  std::optional<StreamedBody> streamed = std::nullopt;
};

// "HTTP/1.1 <status> <reason>\r\n".
std::string status_line(int status);

// The reply of a body known whole: its Content-Length, gzip when the client accepts it
// and the body is worth compressing, Vary when that could have gone either way.
Reply whole_reply(const ReplyHead& head, std::string body);

}  // namespace afp::http
