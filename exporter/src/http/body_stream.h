#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "http/gzip.h"
#include "http/reply.h"
#include "http/server.h"

namespace afp::http {

// Sends a body while it is produced, in pieces of about `piece_bytes`. The first
// piece_bytes are held back: a body that ends within them goes out whole the ordinary
// way (finish() returns it, for whole_reply()), so small answers keep their
// Content-Length. Past them the head goes out, then the body as it comes: as HTTP/1.1
// chunks, or to an HTTP/1.0 client up to the close, and gzipped when the client accepts
// it. Nothing here touches a socket: `send` does, blocking until the bytes are written.
class BodyStream final : public BodySink {
 public:
  // Writes the concatenation of the pieces; throws ConnectionLost when it cannot.
  using Send = std::function<void(std::span<const std::string_view> pieces)>;

  struct Framing {
    bool chunked = true;  // false: the body ends when the connection closes
    std::size_t piece_bytes = 64 * 1024;
    // What ends the head after the stream's own header lines: the connection's header
    // (Connection: close, or keep-alive for HTTP/1.0) and the blank line.
    std::string head_end = "\r\n";
  };

  BodyStream(ReplyHead head, Framing framing, Send send);

  void write(std::string_view data) override;
  // The end of the body. A body that never started going out is returned whole; else
  // its rest and end are sent, and nullopt says so.
  std::optional<std::string> finish();
  // Whether the head has gone out: after that, a failure can only close the connection.
  bool started() const { return head_sent_; }

 private:
  void start();
  void pass(std::string_view data);
  void emit(std::string_view a, std::string_view b = {}, bool last = false);

  ReplyHead head_;
  Framing framing_;
  Send send_;
  bool started_ = false;  // past the held-back bytes: the head goes with the next piece
  bool head_sent_ = false;
  bool gzip_ = false;
  std::string pending_;  // held back before the start, then what waits for a full piece
  std::optional<GzipStream> gzipper_;
  std::string head_text_;  // the head, sent with the first piece
};

}  // namespace afp::http
