#pragma once

// Internal to the listener: TLS over a Beast tcp_stream, driven through the module's
// TlsEngine (http/web_security.h). The executable moves the ciphertext itself, so no Asio
// object crosses into afp_web_security.so. Includes Asio.

#include <array>
#include <boost/asio/compose.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <memory>

#include "http/web_security.h"

namespace afp::http {

// An AsyncStream for Beast and Asio's composed operations. One read or write at a time, as
// the sessions use it.
class TlsStream {
 public:
  using executor_type = boost::beast::tcp_stream::executor_type;
  using next_layer_type = boost::beast::tcp_stream;

  TlsStream(boost::beast::tcp_stream next, std::unique_ptr<TlsEngine> engine)
      : next_(std::move(next)), engine_(std::move(engine)) {}

  executor_type get_executor() { return next_.get_executor(); }
  next_layer_type& next_layer() { return next_; }

  // The server's handshake, starting with bytes already read from the socket; completes
  // with (error_code, how many of them the engine took).
  template <class Token>
  auto async_handshake(boost::asio::ssl::stream_base::handshake_type,
                       boost::asio::const_buffer initial, Token&& token) {
    std::size_t used = engine_->put_input(initial.data(), initial.size());
    return run([](TlsEngine& e) { return e.handshake(); }, used, std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    auto buffer = first_nonempty<boost::asio::mutable_buffer>(buffers);
    return run([buffer](TlsEngine& e) { return e.read(buffer.data(), buffer.size()); }, 0,
               std::forward<Token>(token));
  }

  template <class Buffers, class Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    auto buffer = first_nonempty<boost::asio::const_buffer>(buffers);
    return run([buffer](TlsEngine& e) { return e.write(buffer.data(), buffer.size()); }, 0,
               std::forward<Token>(token));
  }

 private:
  using error_code = boost::system::error_code;
  // A TLS record and its framing: what the engine can take or give in one go.
  static constexpr std::size_t kRecordBytes = 17 * 1024;

  // As Asio's SSL stream: one buffer per operation, the first that is not empty.
  template <class Buffer, class Buffers>
  static Buffer first_nonempty(const Buffers& buffers) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      Buffer buffer(*it);
      if (buffer.size() > 0) return buffer;
    }
    return Buffer();
  }

  template <class Op>
  struct Io;

  template <class Op, class Token>
  auto run(Op op, std::size_t fixed_result, Token&& token) {
    return boost::asio::async_compose<Token, void(error_code, std::size_t)>(
        Io<Op>{*this, op, fixed_result}, token, next_);
  }

  boost::beast::tcp_stream next_;
  std::unique_ptr<TlsEngine> engine_;
  std::array<char, kRecordBytes> input_{};
  std::size_t input_start_ = 0, input_end_ = 0;  // ciphertext read, not yet in the engine
  std::array<char, kRecordBytes> output_{};
};

// One operation: the engine's step, then the socket I/O it asks for, until it is over.
// fixed_result: what the handshake reports instead of plaintext bytes.
template <class Op>
struct TlsStream::Io {
  enum class State { Start, Reading, Writing };
  TlsStream& s;
  Op op;
  std::size_t fixed_result;
  State state = State::Start;
  TlsEngine::Step step{};

  template <class Self>
  void operator()(Self& self, error_code ec = {}, std::size_t n = 0) {
    if (state == State::Reading) {
      // The peer closing the socket inside a record is not a clean end.
      if (ec)
        return self.complete(
            ec == boost::asio::error::eof ? error_code(boost::asio::error::connection_reset) : ec,
            0);
      s.input_start_ = 0;
      s.input_end_ = n;
    } else if (state == State::Writing) {
      if (ec) return self.complete(ec, 0);
      if (step.want == TlsEngine::Want::Output) return finish(self);
    }
    proceed(self);
  }

 private:
  template <class Self>
  void proceed(Self& self) {
    for (;;) {
      step = op(*s.engine_);
      if (step.want == TlsEngine::Want::Input && s.input_start_ < s.input_end_) {
        std::size_t taken =
            s.engine_->put_input(s.input_.data() + s.input_start_, s.input_end_ - s.input_start_);
        if (taken == 0) {  // the engine is full yet wants more: a broken state, give up
          step = {TlsEngine::Want::Nothing, 0, true, false};
          break;
        }
        s.input_start_ += taken;
        continue;
      }
      break;
    }
    switch (step.want) {
      case TlsEngine::Want::Input:
        state = State::Reading;
        return s.next_.async_read_some(boost::asio::buffer(s.input_), std::move(self));
      case TlsEngine::Want::OutputAndRetry:
      case TlsEngine::Want::Output: {
        std::size_t size = s.engine_->take_output(s.output_.data(), s.output_.size());
        state = State::Writing;
        return boost::asio::async_write(s.next_, boost::asio::buffer(s.output_.data(), size),
                                        std::move(self));
      }
      case TlsEngine::Want::Nothing:
        return finish(self);
    }
  }

  template <class Self>
  void finish(Self& self) {
    error_code ec;
    if (step.failed) ec = boost::asio::error::connection_aborted;
    if (step.closed) ec = boost::asio::error::eof;
    self.complete(ec, fixed_result ? fixed_result : step.bytes);
  }
};

}  // namespace afp::http
