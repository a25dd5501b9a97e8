#include "http/body_stream.h"

#include <charconv>

namespace afp::http {

namespace {

constexpr std::string_view kCrlf = "\r\n";
constexpr std::string_view kLastChunk = "0\r\n\r\n";

}  // namespace

BodyStream::BodyStream(ReplyHead head, Framing framing, Send send, Wait wait)
    : head_(std::move(head)),
      framing_(std::move(framing)),
      send_(std::move(send)),
      wait_(std::move(wait)) {}

BodyStream::~BodyStream() {
  try {
    wait_for_write();
  } catch (const std::exception&) {  // the failure is the caller's to report, if any
  }
}

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

// Gzip output, about a tenth of its input, is sent once a piece's worth has gathered;
// plain text a piece at a time, however large the write (a scrape never holds more than
// two pieces of its own).
void BodyStream::pass(std::string_view data) {
  if (gzip_) {
    gzipper_->add(data, pending_);
    if (pending_.size() >= framing_.piece_bytes) emit();
    return;
  }
  while (pending_.size() + data.size() >= framing_.piece_bytes) {
    std::size_t room = framing_.piece_bytes - std::min(pending_.size(), framing_.piece_bytes);
    pending_.append(data.substr(0, room));
    data.remove_prefix(room);
    emit();
  }
  pending_ += data;
}

std::optional<std::string> BodyStream::finish() {
  if (!started_) return std::move(pending_);
  if (gzip_) gzipper_->finish(pending_);
  emit(true);
  wait_for_write();
  return std::nullopt;
}

void BodyStream::wait_for_write() {
  if (!in_flight_) return;
  in_flight_ = false;  // waited for, whether or not it was written
  if (wait_) wait_();
}

// One send of pending_: the head before the first piece, the chunk's size line and CRLF
// around the data when chunked, and the last chunk after the end. It waits for the
// previous send first, whose buffer pending_ then becomes.
void BodyStream::emit(bool last) {
  wait_for_write();
  std::swap(pending_, sending_);
  pending_.clear();
  std::array<std::string_view, 5> pieces{};
  std::size_t n = 0;
  if (!head_sent_) pieces[n++] = head_text_;
  std::size_t size = sending_.size();
  if (framing_.chunked && size > 0) {
    auto [end, ec] = std::to_chars(size_line_.data(), size_line_.data() + 16, size, 16);
    end[0] = '\r';
    end[1] = '\n';
    pieces[n++] =
        std::string_view(size_line_.data(), static_cast<std::size_t>(end + 2 - size_line_.data()));
  }
  if (size > 0) pieces[n++] = sending_;
  if (framing_.chunked && size > 0) pieces[n++] = kCrlf;
  if (framing_.chunked && last) pieces[n++] = kLastChunk;
  if (n == 0) return;
  in_flight_ = true;
  try {
    send_(std::span<const std::string_view>(pieces.data(), n));
  } catch (...) {
    in_flight_ = false;  // nothing left in flight to wait for
    throw;
  }
  head_sent_ = true;
}

}  // namespace afp::http
