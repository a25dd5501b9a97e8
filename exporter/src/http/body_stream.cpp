#include "http/body_stream.h"

#include <array>
#include <charconv>

namespace afp::http {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace

BodyStream::BodyStream(ReplyHead head, Framing framing, Send send)
    : head_(std::move(head)), framing_(std::move(framing)), send_(std::move(send)) {}

void BodyStream::write(std::string_view data) {
  if (started_) return pass(data);
  pending_ += data;
  if (pending_.size() > framing_.piece_bytes) start();
}

void BodyStream::start() {
  started_ = true;
  gzip_ = head_.gzip_accepted;
  head_text_ = head_.start;
  if (gzip_) head_text_ += "Content-Encoding: gzip\r\n";
  if (framing_.chunked) head_text_ += "Transfer-Encoding: chunked\r\n";
  head_text_ += "Vary: Accept-Encoding\r\n" + head_.extra + framing_.head_end;
  if (gzip_) gzipper_.emplace();
  std::string held = std::move(pending_);
  pending_.clear();
  pass(held);
}

// Plain text is sent once a piece's worth has gathered, a large write at once; gzip output,
// about a tenth of its input, once a piece's worth of it has gathered.
void BodyStream::pass(std::string_view data) {
  if (gzip_) {
    gzipper_->add(data, pending_);
    if (pending_.size() >= framing_.piece_bytes) {
      emit(pending_);
      pending_.clear();
    }
    return;
  }
  if (pending_.size() + data.size() < framing_.piece_bytes) {
    pending_ += data;
    return;
  }
  emit(pending_, data);
  pending_.clear();
}

std::optional<std::string> BodyStream::finish() {
  if (!started_) return std::move(pending_);
  if (gzip_) gzipper_->finish(pending_);
  emit(pending_, {}, true);
  pending_.clear();
  return std::nullopt;
}

// One send: the head before the first piece, the chunk's size line and CRLF around the
// data when chunked, and the last chunk after the end.
void BodyStream::emit(std::string_view a, std::string_view b, bool last) {
  std::array<std::string_view, 6> pieces{};
  std::size_t n = 0;
  if (!head_text_.empty()) pieces[n++] = head_text_;
  std::size_t size = a.size() + b.size();
  std::array<char, 24> size_line{};
  if (framing_.chunked && size > 0) {
    auto [end, ec] = std::to_chars(size_line.data(), size_line.data() + 16, size, 16);
    end[0] = '\r';
    end[1] = '\n';
    pieces[n++] =
        std::string_view(size_line.data(), static_cast<std::size_t>(end + 2 - size_line.data()));
  }
  if (!a.empty()) pieces[n++] = a;
  if (!b.empty()) pieces[n++] = b;
  if (framing_.chunked && size > 0) pieces[n++] = kCrlf;
  if (framing_.chunked && last) pieces[n++] = kLastChunk;
  if (n == 0) return;
  send_(std::span<const std::string_view>(pieces.data(), n));
  head_sent_ = true;
  head_text_.clear();
}

}  // namespace afp::http
