#pragma once

#include <array>
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
// it. Nothing here touches a socket: `send` does.
//
// One piece is in flight while the next is produced: `send` may only start writing and
// return, and `wait` then blocks until that write is over. The bytes of a piece are the
// stream's own (copied from write()'s argument), in one of two buffers: the one being
// written is left untouched until `wait` has returned, so the producer fills the other
// meanwhile.
class BodyStream final : public BodySink {
 public:
  // Writes (or starts writing) the concatenation of the pieces; throws ConnectionLost
  // when it cannot.
  using Send = std::function<void(std::span<const std::string_view> pieces)>;
  // Blocks until the last send's bytes are written; throws ConnectionLost when they
  // cannot be. Empty: `send` writes before it returns.
  using Wait = std::function<void()>;

  struct Framing {
    bool chunked = true;  // false: the body ends when the connection closes
    std::size_t piece_bytes = 64 * 1024;
    // What ends the head after the stream's own header lines: the connection's header
    // (Connection: close, or keep-alive for HTTP/1.0) and the blank line.
    std::string head_end = "\r\n";
  };

  BodyStream(ReplyHead head, Framing framing, Send send, Wait wait = {});
  // Waits for a write still in flight (its bytes are this object's), ignoring its failure.
  ~BodyStream() override;
  BodyStream(const BodyStream&) = delete;
  BodyStream& operator=(const BodyStream&) = delete;

  void write(std::string_view data) override;
  // The end of the body. A body that never started going out is returned whole; else
  // its rest and end are sent and written, and nullopt says so.
  std::optional<std::string> finish();
  // Whether the head has gone out: after that, a failure can only close the connection.
  bool started() const { return head_sent_; }

 private:
  void start();
  void pass(std::string_view data);
  void emit(bool last = false);
  void wait_for_write();

  ReplyHead head_;
  Framing framing_;
  Send send_;
  Wait wait_;
  bool started_ = false;  // past the held-back bytes: the head goes with the next piece
  bool head_sent_ = false;
  bool in_flight_ = false;  // a send not yet waited for: sending_ and size_line_ are in use
  bool gzip_ = false;
  std::string pending_;  // held back before the start, then what waits for a full piece
  std::string sending_;  // the piece in flight
  std::array<char, 24> size_line_{};
  std::optional<GzipStream> gzipper_;
  std::string head_text_;  // the head, sent with the first piece
};

}  // namespace afp::http
