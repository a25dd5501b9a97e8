#pragma once

// Internal to the HTTP client: one GET over a stream, plain (http/client.cpp) or TLS (the
// module afp_web_security.so, websec/https_client.cpp). Includes Asio and Beast.

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream_base.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>
#include <string>
#include <type_traits>

#include "http/client.h"

namespace afp::http::exchange_detail {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
using tcp = net::ip::tcp;
using Kind = ClientError::Kind;

// What a failed TLS handshake means; defined where a TLS stream is used.
template <class Stream>
ClientError handshake_failure(Stream& stream, error_code ec);

// Connect, request, response, all asynchronous under the stream's one deadline; `error`
// says what failed first.
template <class Stream>
class Exchange {
 public:
  Exchange(Stream& stream, std::string request, std::size_t max_body, ClientError& error)
      : stream_(stream), error_(error), max_body_(max_body), request_(std::move(request)) {
    parser_.body_limit(max_body);
  }

  void start(const tcp::resolver::results_type& endpoints) {
    beast::get_lowest_layer(stream_).async_connect(
        endpoints, [this](error_code ec, const tcp::endpoint&) {
          if (ec == net::error::connection_refused) {
            return fail(Kind::Refused, "cannot connect", ec);
          }
          if (ec) return fail(Kind::Connect, "cannot connect", ec);
          if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
            send();
          } else {
            handshake();
          }
        });
  }

  std::optional<ClientResponse> result() {
    if (!done_) return std::nullopt;
    return ClientResponse{static_cast<int>(parser_.get().result_int()),
                          std::move(parser_.get().body())};
  }

 private:
  void handshake() {
    stream_.async_handshake(net::ssl::stream_base::client, [this](error_code ec) {
      if (ec) {
        error_ = handshake_failure(stream_, ec);
        return;
      }
      send();
    });
  }

  void send() {
    net::async_write(stream_, net::buffer(request_), [this](error_code ec, std::size_t) {
      if (ec) return fail(Kind::Exchange, "cannot send the request", ec);
      receive();
    });
  }

  void receive() {
    bhttp::async_read(stream_, buffer_, parser_, [this](error_code ec, std::size_t) {
      if (ec == bhttp::error::body_limit) {
        error_ = {Kind::TooLarge, "response larger than " + std::to_string(max_body_) + " bytes"};
        return;
      }
      if (ec) return fail(Kind::Exchange, "no response", ec);
      done_ = true;
    });
  }

  void fail(Kind kind, const std::string& what, error_code ec) {
    if (ec == beast::error::timeout) {
      error_ = {Kind::Timeout, what + ": timed out"};
    } else {
      error_ = {kind, what + ": " + ec.message()};
    }
  }

  Stream& stream_;
  ClientError& error_;
  std::size_t max_body_;
  std::string request_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
  bool done_ = false;
};

template <class Stream>
std::optional<ClientResponse> exchange(net::io_context& io, Stream& stream, const Url& url,
                                       std::string request, std::chrono::milliseconds timeout,
                                       std::size_t max_body, ClientError* error) {
  tcp::resolver resolver(io);
  error_code ec;
  auto endpoints = resolver.resolve(url.host, std::to_string(url.port), ec);
  if (ec) {
    *error = {Kind::Resolve, "cannot resolve host \"" + url.host + "\": " + ec.message()};
    return std::nullopt;
  }
  beast::get_lowest_layer(stream).expires_after(timeout);
  Exchange<Stream> exchange(stream, std::move(request), max_body, *error);
  exchange.start(endpoints);
  io.run();
  return exchange.result();
}
}  // namespace afp::http::exchange_detail
