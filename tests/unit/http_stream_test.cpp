// Streamed responses (a scrape sent while it is produced): the framing alone, then the
// server with clients that take it whole, gzipped, as HTTP/1.0, keep-alive, not at all.
#include <zlib.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gunzip.h"
#include "http/body_stream.h"
#include "http/server.h"
#include "http_client.h"
#include "raw_client.h"

using namespace afp;
using test::gunzip;
using namespace std::chrono_literals;

namespace {

// Exposition-like text of about `bytes`, different on every line.
std::string sample_text(std::size_t bytes) {
  std::string out;
  for (std::uint64_t i = 0; out.size() < bytes; ++i) {
    out += "afp_sample_total{series=\"" + std::to_string(i * 7919 % 100003) + "\"} " +
           std::to_string(i) + "\n";
  }
  return out;
}

// Writes `text` in pieces of 1 to 4000 bytes, the sizes varying.
void write_in_pieces(http::BodySink& sink, std::string_view text) {
  for (std::size_t i = 0, step = 1; i < text.size(); i += step, step = step * 7 % 4001 + 1) {
    sink.write(text.substr(i, step));
  }
}

// The body of a chunked message (after its head); fails the test on a framing error.
std::string dechunk(std::string_view message) {
  std::string body;
  for (;;) {
    auto line_end = message.find("\r\n");
    REQUIRE(line_end != std::string_view::npos);
    std::size_t size = std::stoul(std::string(message.substr(0, line_end)), nullptr, 16);
    message.remove_prefix(line_end + 2);
    if (size == 0) {
      CHECK(message == "\r\n");
      return body;
    }
    REQUIRE(message.size() >= size + 2);
    body += message.substr(0, size);
    CHECK(message.substr(size, 2) == "\r\n");
    message.remove_prefix(size + 2);
  }
}

struct Captured {
  std::string bytes;
  int sends = 0;
};

http::BodyStream capturing_stream(Captured& into, http::BodyStream::Framing framing,
                                  bool gzip = false) {
  http::ReplyHead head{"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", "X-Extra: 1\r\n", gzip,
                       false};
  return http::BodyStream(head, std::move(framing), [&into](auto pieces) {
    for (auto piece : pieces)
      into.bytes += piece;
    ++into.sends;
  });
}

std::pair<std::string, std::string> split_head(const std::string& message) {
  auto end = message.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  return {message.substr(0, end + 4), message.substr(end + 4)};
}

}  // namespace

TEST_CASE("a body that ends within the first piece is returned whole, nothing sent",
          "[http][stream]") {
  Captured sent;
  auto stream = capturing_stream(sent, {true, 1000, "\r\n"});
  auto text = sample_text(900);
  write_in_pieces(stream, text);
  auto whole = stream.finish();
  REQUIRE(whole);
  CHECK(*whole == text);
  CHECK(sent.sends == 0);
  CHECK_FALSE(stream.started());
}

TEST_CASE("a longer body goes out in chunks while it is written", "[http][stream]") {
  Captured sent;
  auto stream = capturing_stream(sent, {true, 1000, "\r\n"});
  auto text = sample_text(50'000);
  write_in_pieces(stream, text.substr(0, 25'000));
  CHECK(stream.started());
  CHECK(sent.bytes.size() > 20'000);  // half of it out before the rest is written
  write_in_pieces(stream, text.substr(25'000));
  CHECK_FALSE(stream.finish());
  auto [head, body] = split_head(sent.bytes);
  CHECK(head ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
        "Vary: Accept-Encoding\r\nX-Extra: 1\r\n\r\n");
  CHECK(dechunk(body) == text);
}

TEST_CASE("to an HTTP/1.0 client the body runs to the close, unframed", "[http][stream]") {
  Captured sent;
  auto stream = capturing_stream(sent, {false, 1000, "Connection: close\r\n\r\n"});
  auto text = sample_text(30'000);
  write_in_pieces(stream, text);
  CHECK_FALSE(stream.finish());
  auto [head, body] = split_head(sent.bytes);
  CHECK(head.find("Transfer-Encoding") == std::string::npos);
  CHECK(head.ends_with("Connection: close\r\n\r\n"));
  CHECK(body == text);
}

TEST_CASE("a gzipped stream is one gzip member of the whole body", "[http][stream][gzip]") {
  Captured sent;
  auto stream = capturing_stream(sent, {true, 1000, "\r\n"}, true);
  auto text = sample_text(2'000'000);
  write_in_pieces(stream, text);
  CHECK_FALSE(stream.finish());
  auto [head, body] = split_head(sent.bytes);
  CHECK(head.find("Content-Encoding: gzip\r\n") != std::string::npos);
  CHECK(gunzip(dechunk(body)) == text);
  CHECK(sent.sends > 2);
}

TEST_CASE("a send that fails stops the writer with ConnectionLost", "[http][stream]") {
  http::BodyStream stream({"HTTP/1.1 200 OK\r\n", "", false, false}, {true, 100, "\r\n"},
                          [](auto) { throw http::ConnectionLost("gone"); });
  stream.write(std::string(50, 'a'));
  CHECK_THROWS_AS(stream.write(std::string(100, 'b')), http::ConnectionLost);
  CHECK_FALSE(stream.started());
}

namespace {

// A transport that writes asynchronously as the server's does: send() only keeps the
// pieces' views, and wait() reads the bytes behind them. A stream that reused a buffer
// before wait() (while a write would still be reading it) sends changed bytes.
struct DeferredTransport {
  std::vector<std::string_view> in_flight;
  std::string bytes;
  int sends = 0;
  int sends_while_in_flight = 0;

  http::BodyStream::Send send() {
    return [this](std::span<const std::string_view> pieces) {
      if (!in_flight.empty()) ++sends_while_in_flight;
      in_flight.assign(pieces.begin(), pieces.end());
      ++sends;
    };
  }
  http::BodyStream::Wait wait() {
    return [this] {
      for (auto piece : in_flight)
        bytes += piece;
      in_flight.clear();
    };
  }
};

}  // namespace

TEST_CASE("a piece in flight is left untouched until its write is waited for", "[http][stream]") {
  for (bool gzip : {false, true}) {
    DeferredTransport transport;
    {
      http::ReplyHead head{"HTTP/1.1 200 OK\r\n", "", gzip, false};
      http::BodyStream stream(head, {true, 1000, "\r\n"}, transport.send(), transport.wait());
      auto text = sample_text(gzip ? 3'000'000 : 200'000);
      write_in_pieces(stream, text);
      CHECK_FALSE(stream.finish());
      CHECK(transport.in_flight.empty());  // finish() waited for the last piece
      auto [head_text, body] = split_head(transport.bytes);
      CHECK(head_text.starts_with("HTTP/1.1 200 OK\r\n"));
      CHECK((gzip ? gunzip(dechunk(body)) : dechunk(body)) == text);
    }
    CHECK(transport.sends > 2);
    CHECK(transport.sends_while_in_flight == 0);
  }
}

TEST_CASE("a stream destroyed with a piece in flight waits for its write", "[http][stream]") {
  DeferredTransport transport;
  auto text = sample_text(5'000);
  {
    http::BodyStream stream({"HTTP/1.1 200 OK\r\n", "", false, false}, {true, 1000, "\r\n"},
                            transport.send(), transport.wait());
    stream.write(text);
    CHECK(stream.started());
    CHECK_FALSE(transport.in_flight.empty());
  }  // a producer that failed here: the session closes, and the write ends before the buffers
  CHECK(transport.in_flight.empty());
  CHECK(transport.bytes.find(text.substr(0, 500)) != std::string::npos);
}

namespace {

// A server with /big (a streamed body of `text`), /small (a plain body), /fails-late (a
// stream that throws after 200 kB) and /fails-early (one that throws before writing).
struct StreamingServer {
  explicit StreamingServer(http::ServerOptions options = {{"127.0.0.1:0"}, 4})
      : text(sample_text(300'000)), server(std::move(options), log) {
    server.route("/big", {"GET"}, [this](const http::Request&, http::Response& res) {
      res.stream = [this](http::BodySink& sink) {
        try {
          write_in_pieces(sink, text);
        } catch (const http::ConnectionLost&) {
          lost = true;
          throw;
        }
      };
    });
    server.route("/small", {"GET"},
                 [](const http::Request&, http::Response& res) { res.body = "small\n"; });
    server.route("/fails-late", {"GET"}, [this](const http::Request&, http::Response& res) {
      res.stream = [this](http::BodySink& sink) {
        write_in_pieces(sink, std::string_view(text).substr(0, 200'000));
        throw std::runtime_error("the producer failed");
      };
    });
    server.route("/fails-early", {"GET"}, [](const http::Request&, http::Response& res) {
      res.stream = [](http::BodySink&) { throw std::runtime_error("the producer failed"); };
    });
    server.start();
    port = server.ports().at(0);
    base = "http://127.0.0.1:" + std::to_string(port);
  }

  log::Logger log{log::Level::error};
  std::string text;
  http::Server server;
  int port = 0;
  std::string base;
  std::atomic<bool> lost = false;
};

}  // namespace

TEST_CASE("a streamed route gives the produced body to every kind of client", "[http][stream]") {
  StreamingServer s;
  auto plain = test::http_request(s.base + "/big");
  CHECK(plain.status == 200);
  CHECK(plain.headers["transfer-encoding"] == "chunked");
  CHECK(plain.headers.count("content-length") == 0);
  CHECK(plain.body == s.text);

  auto gzipped = test::http_request(s.base + "/big", "GET", {"Accept-Encoding: gzip"});
  CHECK(gzipped.headers["content-encoding"] == "gzip");
  CHECK(gunzip(gzipped.body) == s.text);

  auto head = test::http_request(s.base + "/big", "HEAD");
  CHECK(head.status == 200);
  CHECK(head.headers["content-length"] == std::to_string(s.text.size()));
  CHECK(head.body.empty());

  test::RawConnection old_client(s.port);
  REQUIRE(old_client.send("GET /big HTTP/1.0\r\n\r\n"));
  auto [old_head, old_body] = split_head(old_client.receive(20s));
  CHECK(old_head.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(old_head.find("Connection: close\r\n") != std::string::npos);
  CHECK(old_body == s.text);
}

TEST_CASE("a connection stays usable after a streamed body", "[http][stream]") {
  StreamingServer s;
  test::RawConnection client(s.port);
  REQUIRE(client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto [head, body] = split_head(client.receive(20s, "\r\n0\r\n\r\n"));
  CHECK(head.find("Connection: close") == std::string::npos);
  CHECK(dechunk(body) == s.text);
  REQUIRE(client.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(client.receive(10s, "small\n").ends_with("\r\n\r\nsmall\n"));
}

TEST_CASE("a producer that fails midway cuts the connection, one that fails at once gets 500",
          "[http][stream]") {
  StreamingServer s;
  test::RawConnection late(s.port);
  REQUIRE(late.send("GET /fails-late HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto answer = late.receive(20s);
  CHECK(late.closed_within(5s));
  CHECK(answer.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK_FALSE(answer.ends_with("0\r\n\r\n"));  // never looks complete
  auto failed = test::http_request(s.base + "/fails-late");
  CHECK((failed.status != 200 || !failed.error.empty()));  // curl: transfer closed early

  auto early = test::http_request(s.base + "/fails-early");
  CHECK(early.status == 500);
  CHECK(early.body == "internal error\n");
}

TEST_CASE("a client that stops reading a stream frees the worker at the write deadline",
          "[http][stream][limits]") {
  http::ServerOptions options{{"127.0.0.1:0"}, 1};  // one worker: the stream holds it
  options.write_timeout = 1s;
  StreamingServer s(options);
  s.text = sample_text(64 << 20);  // far more than the socket buffers take
  test::RawConnection stalled(s.port);
  REQUIRE(stalled.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::this_thread::sleep_for(200ms);
  test::RequestOptions patient;
  patient.timeout_seconds = 30;
  auto next = test::http_request(s.base + "/small", "GET", {}, patient);
  CHECK(next.status == 200);
  CHECK(s.lost);
  CHECK(stalled.closed_within(5s));
}

TEST_CASE("a client that resets a stream frees the worker long before the write deadline",
          "[http][stream][limits][concurrency]") {
  http::ServerOptions options{{"127.0.0.1:0"}, 1};  // one worker: the stream holds it
  options.write_timeout = 120s;                     // only the reset can free it in time
  StreamingServer s(options);
  s.text = sample_text(64 << 20);
  for (int receive_buffer : {0, 16 * 1024}) {  // written at once, and partly waited on
    s.lost = false;
    test::RawConnection client(s.port, receive_buffer);
    REQUIRE(client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK_FALSE(client.receive(20s, "\r\n\r\n").empty());  // the head, and some body
    client.reset();
    test::RequestOptions patient;
    patient.timeout_seconds = 60;
    auto next = test::http_request(s.base + "/small", "GET", {}, patient);
    CHECK(next.status == 200);
    CHECK(s.lost);
  }
}

TEST_CASE("a client slower than the server receives every piece intact",
          "[http][stream][concurrency]") {
  StreamingServer s;
  s.text = sample_text(1'500'000);  // many pieces, each written while the next is produced
  for (bool gzip : {false, true}) {
    test::RawConnection slow(s.port, 16 * 1024);  // small: the server waits on it
    REQUIRE(slow.send(std::string("GET /big HTTP/1.1\r\nHost: x\r\n") +
                      (gzip ? "Accept-Encoding: gzip\r\n" : "") + "\r\n"));
    auto [head, body] =
        split_head(slow.receive_slowly(60s, "\r\n0\r\n\r\n", gzip ? 512 : 8192, 200us));
    CHECK(head.find("Transfer-Encoding: chunked\r\n") != std::string::npos);
    CHECK((gzip ? gunzip(dechunk(body)) : dechunk(body)) == s.text);
  }
  CHECK_FALSE(s.lost);
}
