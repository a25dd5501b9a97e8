#include "http/session.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_cat.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cerrno>
#include <cstring>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <vector>

#include "core/ascii.h"
#include "http/body_stream.h"
#include "http/tls_stream.h"

namespace afp::http {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using Clock = std::chrono::steady_clock;

// Reads of a request head are small, so a connection trickling its head holds little;
// body reads are larger, for fewer system calls.
constexpr std::size_t kHeadChunk = 1024;
constexpr std::size_t kBodyChunk = 16 * 1024;
// After the last response of a connection, what the client still sends (the rest of a
// refused body) is read and dropped for a while before the close, so the close does not
// turn into a reset that could destroy the response before the client reads it.
constexpr auto kLingerTime = std::chrono::seconds(2);
constexpr std::size_t kLingerBytes = 256 * 1024;
// The content type of the record a TLS client opens with: a handshake (RFC 8446, 5.1).
constexpr unsigned char kTlsHandshakeRecord = 0x16;
constexpr std::string_view kPlainHttpOnTls = "this port speaks TLS: use https://\n";
// A streamed body goes out in pieces of this size (gzip: of compressed bytes), so a scrape
// holds one piece besides the collector output being written, not the whole exposition.
constexpr std::size_t kStreamPiece = 64 * 1024;
// While the worker waits for a piece to be written, it looks this often whether the server
// is stopping; then a client that does not read is cut off after kStopCutOff.
constexpr auto kStopCheck = std::chrono::milliseconds(200);
constexpr auto kStopCutOff = std::chrono::seconds(2);

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The path with its %XX escapes decoded (as routes are matched); a stray % stays.
std::string decode_path(std::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (std::size_t i = 0; i < path.size(); ++i) {
    int hi = i + 2 < path.size() && path[i] == '%' ? hex_digit(path[i + 1]) : -1;
    int lo = hi >= 0 ? hex_digit(path[i + 2]) : -1;
    if (lo >= 0) {
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else {
      out += path[i];
    }
  }
  return out;
}

std::string_view view(beast::string_view s) {
  return {s.data(), s.size()};
}

// "127.0.0.1" for an IPv4 peer of a dual-stack socket, not "::ffff:127.0.0.1".
std::string peer_address(const net::ip::tcp::socket& socket) {
  error_code ec;
  auto address = socket.remote_endpoint(ec).address();
  if (ec) return {};
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6()).to_string();
  }
  return address.to_string();
}

template <class Stream>
constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

// One connection: a loop of request head, handler (inline or on the pool), body reads the
// handler asks for, response; every stage under a deadline of the stream, which closes
// the socket when it passes.
template <class Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Stream stream, const SessionEnv& env) : stream_(std::move(stream)), env_(env) {}
  ~Session() override {
    if (id_) env_.table.remove(*id_);
  }

  void start(std::uint64_t id) {
    id_ = id;
    remote_ = peer_address(tcp().socket());
    tcp().expires_after(env_.options.head_timeout);  // the handshake is part of the head
    if constexpr (kTls<Stream>) {
      read_first_bytes();
    } else {
      read_head(true);
    }
  }

  void close() override {
    net::post(stream_.get_executor(), [self = self()] {
      std::lock_guard lock(self->socket_mutex_);
      self->tcp().close();
    });
  }

 private:
  using Parser = bhttp::request_parser<bhttp::string_body>;
  using BodyDone = std::shared_ptr<std::promise<BodyStatus>>;

  std::shared_ptr<Session> self() { return this->shared_from_this(); }
  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  template <class Then>
  void read_some(std::size_t chunk, Then then) {
    stream_.async_read_some(buffer_.prepare(chunk),
                            [self = self(), then](error_code ec, std::size_t n) {
                              self->buffer_.commit(n);
                              then(ec, n);
                            });
  }

  // Feeds what is buffered to the parser; false on a parse error (set in *ec).
  bool parse_buffered(error_code* ec) {
    while (buffer_.size() > 0 && !parser_->is_done()) {
      std::size_t used = 0;
      try {
        used = parser_->put(buffer_.data(), *ec);
      } catch (const std::exception&) {  // a body too large to allocate
        *ec = bhttp::error::buffer_overflow;
      }
      buffer_.consume(used);
      if (*ec == bhttp::error::need_more) {
        *ec = {};
        return true;
      }
      if (*ec) return false;
      if (used == 0 || (parser_->is_header_done() && !parser_->eager())) return true;
    }
    return true;
  }

  // --- the first bytes of a TLS connection ---

  // One read, at most a head chunk, decides: a TLS client opens with a handshake record;
  // anything else is almost always http:// sent to this https:// port, and gets a plain
  // HTTP answer saying so (as Go's net/http gives) instead of a silent close.
  void read_first_bytes() {
    tcp().async_read_some(
        buffer_.prepare(kHeadChunk), [self = self()](error_code ec, std::size_t n) {
          self->buffer_.commit(n);
          if (ec || n == 0) return;
          auto first = static_cast<const unsigned char*>(self->buffer_.data().data())[0];
          if (first != kTlsHandshakeRecord) return self->refuse_plain_http();
          self->handshake();
        });
  }

  // The handshake, starting from the bytes already read. A client sends nothing past its
  // hello before the server answers, so the handshake takes them all; any left over would
  // be records read around the TLS layer, and the connection closes.
  void handshake() {
    stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                            [self = self()](error_code ec, std::size_t used) {
                              bool all_used = used == self->buffer_.size();
                              self->buffer_.consume(self->buffer_.size());
                              if (!ec && all_used) self->read_head(true);
                            });
  }

  void refuse_plain_http() {
    env_.log.debug("plain HTTP on a TLS listener: answered 400", {{"peer", remote_}});
    buffer_.consume(buffer_.size());
    reply_.head = status_line(400) + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                  std::to_string(kPlainHttpOnTls.size()) + "\r\nConnection: close\r\n\r\n";
    reply_.body = kPlainHttpOnTls;
    tcp().expires_after(env_.options.write_timeout);
    std::array<net::const_buffer, 2> buffers{net::buffer(reply_.head), net::buffer(reply_.body)};
    net::async_write(tcp(), buffers, [self = self()](error_code ec, std::size_t) {
      self->reply_ = {};
      if (!ec) self->finish();
    });
  }

  // --- the request head ---

  void read_head(bool fresh) {
    if (env_.stopping) return finish();
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(env_.options.max_head_bytes));
    // read_body() applies the handler's limit. Not boost::none: Beast 1.74 compares a
    // Content-Length with the optional, and every number is greater than none.
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    request_.reset();
    env_.table.set_waiting(*id_, true);
    head_started_ = fresh || buffer_.size() > 0;
    if (buffer_.size() == 0) buffer_.shrink_to_fit();  // an idle connection holds no buffer
    if (!fresh) {
      tcp().expires_after(head_started_ ? env_.options.head_timeout : env_.options.idle_timeout);
    }
    parse_head();
  }

  void parse_head() {
    error_code parse_error;
    if (!parse_buffered(&parse_error)) return refuse_head(parse_error);
    if (parser_->is_header_done()) return on_head();
    read_some(kHeadChunk, [self = self()](error_code ec, std::size_t) {
      // A timeout (the stream closed the socket), the client leaving, or room made for a
      // newer connection: there is no one to answer.
      if (ec) return;
      if (!self->head_started_) {
        self->head_started_ = true;
        self->tcp().expires_after(self->env_.options.head_timeout);
      }
      self->parse_head();
    });
  }

  void refuse_head(error_code ec) {
    env_.table.set_waiting(*id_, false);
    bool too_large = ec == bhttp::error::header_limit;
    env_.log.debug("refusing a request head", {{"peer", remote_}, {"err", ec.message()}});
    Reply reply{status_line(too_large ? 431 : 400) + "Content-Type: text/plain; charset=utf-8\r\n",
                too_large ? "Request header fields too large\n" : "Bad request\n"};
    reply.head += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
    send(std::move(reply), false);
  }

  void on_head() {
    env_.table.set_waiting(*id_, false);
    tcp().expires_never();  // the handler's time is its own; body reads set their deadline
    const auto& message = parser_->get();
    std::string_view target = view(message.target());
    auto question = target.find('?');
    path_ = decode_path(target.substr(0, question));
    std::string_view query =
        question == std::string_view::npos ? std::string_view{} : target.substr(question + 1);
    Session* raw = this;
    request_.emplace(Request{
        view(message.method_string()), path_, query, remote_,
        [raw](const char* name) -> std::string_view {
          const auto& fields = raw->parser_->get();
          auto it = fields.find(name);
          return it == fields.end() ? std::string_view{} : view(it->value());
        },
        [raw](std::size_t max_bytes, std::string* out) { return raw->read_body(max_bytes, out); }});
    // Inline only without a body: reading one would block the I/O thread.
    if (parser_->is_done() && env_.handling.answers_inline(*request_)) {
      inline_ = true;
      Reply reply = respond();
      inline_ = false;
      return send(std::move(reply), true);
    }
    env_.pool.post([self = self()] {
      Reply reply = self->respond();
      if (reply.streamed) return self->stream(std::move(*reply.streamed));
      self->post_send(std::move(reply));
    });
  }

  // The handler's answer. A streamed body is produced here only for HEAD or on the I/O
  // thread, where waiting for the client is not allowed: then whole.
  Reply respond() {
    try {
      Reply reply = env_.handling.respond(*request_);
      if (reply.streamed && (inline_ || reply.streamed->head.head_only)) {
        return produce_whole(std::move(*reply.streamed));
      }
      return reply;
    } catch (const std::exception& e) {
      return internal_error(e);
    }
  }

  Reply internal_error(const std::exception& e) {
    env_.log.error("request failed", {{"path", path_}, {"err", e.what()}});
    std::string body = "internal error\n";
    return {status_line(500) + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
                std::to_string(body.size()) + "\r\n",
            body};
  }

  static Reply produce_whole(StreamedBody body) {
    struct Gather final : BodySink {
      std::string text;
      void write(std::string_view data) override { text += data; }
    } gather;
    body.produce(gather);
    return whole_reply(body.head, std::move(gather.text));
  }

  void post_send(Reply reply) {
    net::post(stream_.get_executor(), [self = self(), reply = std::move(reply)]() mutable {
      self->send(std::move(reply), true);
    });
  }

  // --- a streamed response, sent from the worker while its body is produced ---

  void stream(StreamedBody body) {
    bool chunked = parser_->get().version() >= 11;  // HTTP/1.0 has no chunks: to the close
    keep_alive_ = chunked && parser_->keep_alive() && parser_->is_done() && !env_.stopping;
    BodyStream::Framing framing{chunked, kStreamPiece,
                                keep_alive_ ? "\r\n" : "Connection: close\r\n\r\n"};
    auto deadline = Clock::now() + env_.options.write_timeout;
    BodyStream out(
        body.head, framing,
        [this, deadline](std::span<const std::string_view> pieces) {
          start_write(pieces, deadline);
        },
        [this] { wait_written(); });
    try {
      body.produce(out);
      if (auto whole = out.finish()) return post_send(whole_reply(body.head, std::move(*whole)));
      net::post(stream_.get_executor(), [self = self()] { self->after_reply(); });
    } catch (const ConnectionLost& e) {
      env_.log.debug("response not delivered", {{"peer", remote_}, {"err", e.what()}});
      close();
    } catch (const std::exception& e) {
      if (!out.started()) return post_send(internal_error(e));
      env_.log.error("response cut short", {{"path", path_}, {"err", e.what()}});
      close();  // the client sees a body without its end, never a complete-looking one
    }
  }

  // Hands the pieces to the I/O thread and returns: the worker produces the next piece
  // while they are written. Their bytes (BodyStream's) stay untouched until wait_written().
  // A client that stops reading is cut off at `deadline` (the socket's expiry).
  void start_write(std::span<const std::string_view> pieces, Clock::time_point deadline) {
    stream_buffers_.clear();  // the previous write is over: BodyStream waited for it
    for (auto piece : pieces)
      stream_buffers_.emplace_back(piece.data(), piece.size());
    if constexpr (!kTls<Stream>) {
      if (write_now()) return;
    }
    auto done = std::make_shared<std::promise<bool>>();
    stream_written_ = done->get_future();
    net::post(stream_.get_executor(), [self = self(), done, deadline] {
      self->tcp().expires_at(deadline);
      net::async_write(self->stream_, self->stream_buffers_,
                       [done](error_code ec, std::size_t) { done->set_value(!ec); });
    });
  }

  // Writes what the socket takes at once, from the worker: a client that reads as fast as
  // the scrape renders (the usual case) then costs no hand-over to the I/O thread and back
  // per piece. Whether all of stream_buffers_ went; what did is dropped from them. Only
  // for plain TCP, where no state but the kernel's goes with the bytes; close() holds
  // socket_mutex_, so the descriptor is never closed (and reused) under the write.
  bool write_now() {
    std::array<iovec, 8> iov{};
    std::size_t n = 0;
    for (const auto& b : stream_buffers_) {
      if (n == iov.size()) break;
      iov[n++] = {const_cast<void*>(b.data()), b.size()};
    }
    std::lock_guard lock(socket_mutex_);
    auto& socket = tcp().socket();
    if (!socket.is_open()) throw ConnectionLost("the connection was closed");
    msghdr message{};
    message.msg_iov = iov.data();
    message.msg_iovlen = n;
    ssize_t sent = ::sendmsg(socket.native_handle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (sent < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return false;
      throw ConnectionLost(std::string("the client did not take the response: ") +
                           std::strerror(errno));
    }
    auto left = static_cast<std::size_t>(sent);
    while (!stream_buffers_.empty() && left >= stream_buffers_.front().size()) {
      left -= stream_buffers_.front().size();
      stream_buffers_.erase(stream_buffers_.begin());
    }
    if (!stream_buffers_.empty()) stream_buffers_.front() += left;
    return stream_buffers_.empty();
  }

  // Blocks the worker until the last start_write() is over; throws ConnectionLost when it
  // failed. Soon after the server begins to stop, a client that does not read is cut off.
  void wait_written() {
    if (!stream_written_.valid()) return;  // written by write_now()
    auto written = std::move(stream_written_);
    std::optional<Clock::time_point> cut_off;
    while (written.wait_for(kStopCheck) != std::future_status::ready) {
      if (!env_.stopping) continue;
      if (!cut_off) cut_off = Clock::now() + kStopCutOff;
      if (Clock::now() >= *cut_off) close();  // the write fails, and the wait ends
    }
    bool ok = false;
    try {
      ok = written.get();
    } catch (const std::future_error&) {  // the server stopped under the write
    }
    if (!ok) throw ConnectionLost("the client did not take the response");
  }

  // --- the request body, for the handler on its worker ---

  BodyStatus read_body(std::size_t max_bytes, std::string* out) {
    if (inline_) return BodyStatus::Error;  // never wait for the socket on the I/O thread
    auto done = std::make_shared<std::promise<BodyStatus>>();
    auto result = done->get_future();
    net::post(stream_.get_executor(),
              [self = self(), max_bytes, out, done] { self->start_body(max_bytes, out, done); });
    try {
      return result.get();
    } catch (const std::future_error&) {  // the server stopped under the read
      return BodyStatus::Error;
    }
  }

  void start_body(std::size_t max_bytes, std::string* out, const BodyDone& done) {
    out->clear();
    if (parser_->is_done() || body_failed_) {  // no body, or one read (or failed) before
      return done->set_value(body_failed_ ? BodyStatus::Error : BodyStatus::Ok);
    }
    auto length = parser_->content_length();
    if (length && *length > max_bytes) return done->set_value(BodyStatus::TooLarge);
    parser_->body_limit(max_bytes);
    parser_->eager(true);
    body_started_ = Clock::now();
    body_bytes_ = buffer_.size();
    auto expect = parser_->get()[bhttp::field::expect];
    if (!core::iequals(view(expect), "100-continue")) return pump_body(out, done);
    // The client waits for this before it sends the body (curl does for large ones).
    tcp().expires_after(env_.options.write_timeout);
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    net::async_write(stream_, net::buffer(kContinue.data(), kContinue.size()),
                     [self = self(), out, done](error_code ec, std::size_t) {
                       if (ec) return self->fail_body(done);
                       self->pump_body(out, done);
                     });
  }

  void pump_body(std::string* out, const BodyDone& done) {
    error_code parse_error;
    if (!parse_buffered(&parse_error)) {
      if (parse_error == bhttp::error::body_limit) return done->set_value(BodyStatus::TooLarge);
      return fail_body(done);
    }
    if (parser_->is_done()) {
      *out = std::move(parser_->get().body());
      return done->set_value(BodyStatus::Ok);
    }
    tcp().expires_at(body_deadline());
    read_some(kBodyChunk, [self = self(), out, done](error_code ec, std::size_t n) {
      if (ec) return self->fail_body(done);  // too slow (the socket is closed) or gone
      self->body_bytes_ += n;
      self->pump_body(out, done);
    });
  }

  // The minimum rate: by now, grace + bytes / rate after the body began, one more byte.
  Clock::time_point body_deadline() const {
    double rate = static_cast<double>(std::max<std::size_t>(1, env_.options.min_body_rate));
    auto allowed = std::chrono::duration<double>(static_cast<double>(body_bytes_) / rate);
    return body_started_ + env_.options.body_grace +
           std::chrono::duration_cast<Clock::duration>(allowed);
  }

  void fail_body(const BodyDone& done) {
    body_failed_ = true;
    done->set_value(BodyStatus::Error);
  }

  // --- the response ---

  // A request whose body was not read to its end leaves the connection unusable: close.
  void send(Reply reply, bool may_keep_alive) {
    keep_alive_ = may_keep_alive && parser_->keep_alive() && parser_->is_done() && !env_.stopping;
    if (!keep_alive_) {
      reply.head += "Connection: close\r\n";
    } else if (parser_->get().version() == 10) {
      reply.head += "Connection: keep-alive\r\n";
    }
    reply.head += "\r\n";
    reply_ = std::move(reply);
    tcp().expires_after(env_.options.write_timeout);
    // Not a std::array of two buffers: Asio's composed write has a special case for that
    // type which, over Beast's TLS stream (it writes the head alone when head and body
    // exceed one TLS record), completed after the head and dropped a body over ~16 kB.
    auto buffers = beast::buffers_cat(net::buffer(reply_.head), net::buffer(reply_.body));
    net::async_write(stream_, buffers, [self = self()](error_code ec, std::size_t) {
      self->reply_ = {};
      if (!ec) self->after_reply();
    });
  }

  void after_reply() {
    if (keep_alive_) return read_head(false);
    finish();
  }

  void finish() {
    error_code ignored;
    tcp().socket().shutdown(net::socket_base::shutdown_send, ignored);
    tcp().expires_after(kLingerTime);
    linger(0);
  }

  void linger(std::size_t drained) {
    buffer_.consume(buffer_.size());
    if (drained > kLingerBytes) return;  // the last reference goes: the socket closes
    tcp().async_read_some(buffer_.prepare(kBodyChunk),
                          [self = self(), drained](error_code ec, std::size_t n) {
                            if (!ec) self->linger(drained + n);
                          });
  }

  Stream stream_;
  const SessionEnv& env_;
  std::optional<std::uint64_t> id_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<Parser> parser_;
  std::string path_;
  std::optional<Request> request_;
  bool head_started_ = false;
  bool inline_ = false;
  bool keep_alive_ = false;
  bool body_failed_ = false;
  Clock::time_point body_started_{};
  std::size_t body_bytes_ = 0;
  Reply reply_;
  // A streamed body's write in flight: its buffers, and whether it succeeded (no future:
  // none in flight).
  std::vector<net::const_buffer> stream_buffers_;
  std::future<bool> stream_written_;
  std::mutex socket_mutex_;  // write_now() on the worker against close() on the I/O thread
};

template <class Stream>
void register_and_start(std::shared_ptr<Session<Stream>> session, const SessionEnv& env) {
  if (auto id = env.table.add(session)) session->start(*id);
}

}  // namespace

void serve_connection(net::ip::tcp::socket socket, TlsServer* tls, const SessionEnv& env) {
  error_code ignored;
  socket.set_option(net::ip::tcp::no_delay(true), ignored);
  beast::tcp_stream stream(std::move(socket));
  if (tls) {
    auto engine = tls->accept();
    if (!engine) {
      env.log.debug("cannot start a TLS connection: OpenSSL refused", {});
      return;  // the socket closes
    }
    register_and_start(
        std::make_shared<Session<TlsStream>>(TlsStream(std::move(stream), std::move(engine)), env),
        env);
  } else {
    register_and_start(std::make_shared<Session<beast::tcp_stream>>(std::move(stream), env), env);
  }
}

}  // namespace afp::http
