#include "http/listener.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <optional>
#include <thread>

#include "core/listen_address.h"
#include "http/session.h"

namespace afp::http {

namespace {

namespace net = boost::asio;
using boost::system::error_code;
using tcp = net::ip::tcp;

// After a failed accept (out of file descriptors), wait this long before the next.
constexpr auto kAcceptRetry = std::chrono::milliseconds(100);
// How long stop() lets the responses of in-flight requests reach their clients.
constexpr auto kStopGrace = std::chrono::seconds(3);

// "permission denied", as strerror says it but in lower case, like the other messages; a
// port in use also says what to do about it.
std::string describe(const error_code& ec, const std::string& listen_flag) {
  if (ec == net::error::address_in_use) return core::address_in_use(listen_flag);
  std::string text = ec.message();
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// A bound, listening acceptor for one listen address; throws ServerError naming it.
tcp::acceptor bind(net::io_context& io, const std::string& text, const std::string& listen_flag) {
  std::string error;
  auto address = core::parse_listen_address(text, &error);
  if (!address) throw ServerError(error);
  auto fail = [&](const std::string& what, const error_code& ec) {
    throw ServerError("cannot listen on \"" + text + "\": " + what + describe(ec, listen_flag));
  };
  auto port = static_cast<unsigned short>(address->port);
  tcp::acceptor acceptor(io);
  error_code ec;
  if (address->ip.empty()) {
    // Every address: IPv6 with IPv4 mapped into it, or IPv4 alone where IPv6 is off.
    acceptor.open(tcp::v6(), ec);
    if (!ec) acceptor.set_option(net::ip::v6_only(false), ec);
    if (ec) {
      if (acceptor.is_open()) acceptor.close();
      ec = {};
    }
    tcp::endpoint endpoint =
        acceptor.is_open() ? tcp::endpoint(tcp::v6(), port) : tcp::endpoint(tcp::v4(), port);
    if (!acceptor.is_open()) acceptor.open(tcp::v4(), ec);
    if (ec) fail("", ec);
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
  } else {
    tcp::endpoint endpoint(net::ip::make_address(address->ip, ec), port);
    if (ec) fail("", ec);
    acceptor.open(endpoint.protocol(), ec);
    if (ec) fail("", ec);
    acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    acceptor.bind(endpoint, ec);
  }
  if (ec) fail("", ec);
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("", ec);
  return acceptor;
}

}  // namespace

struct Listener::State {
  State(const ServerOptions& o, RequestHandling h, log::Logger& l)
      : options(o),
        handling(std::move(h)),
        log(l),
        table(o.max_connections),
        pool(o.worker_threads),
        env{options, handling, pool, table, stopping, log} {}

  void accept(std::size_t index) {
    acceptors[index].async_accept(
        net::make_strand(io), [this, index](error_code ec, tcp::socket socket) {
          if (ec == net::error::operation_aborted || stopping) return;
          if (ec) {
            log.debug("accept failed", {{"err", ec.message()}});
            auto timer = std::make_shared<net::steady_timer>(io, kAcceptRetry);
            timer->async_wait([this, index, timer](error_code) { accept(index); });
            return;
          }
          serve_connection(std::move(socket), tls, env);
          accept(index);
        });
  }

  ServerOptions options;
  RequestHandling handling;
  log::Logger& log;
  std::atomic<bool> stopping = false;
  ConnectionTable table;
  WorkerPool pool;
  SessionEnv env;
  // Declared after what the connections use: destroyed first, with the connections.
  net::io_context io;
  TlsServer* tls = nullptr;  // the server's; outlives the listener
  std::vector<tcp::acceptor> acceptors;
  std::vector<std::thread> threads;
};

Listener::Listener(const ServerOptions& options, TlsServer* tls, RequestHandling handling,
                   log::Logger& log)
    : state_(std::make_unique<State>(options, std::move(handling), log)) {
  State& s = *state_;
  if (options.listen_addresses.empty()) throw ServerError("no listen address configured");
  s.tls = tls;
  for (const auto& address : options.listen_addresses)
    s.acceptors.push_back(bind(s.io, address, options.listen_flag));
  for (std::size_t i = 0; i < s.acceptors.size(); ++i)
    s.accept(i);
  for (int i = 0; i < std::max(1, options.io_threads); ++i)
    s.threads.emplace_back([&s] { s.io.run(); });
}

Listener::~Listener() {
  stop();
}

void Listener::stop() {
  State& s = *state_;
  if (s.threads.empty()) return;
  s.stopping = true;
  net::post(s.io, [&s] {
    for (auto& acceptor : s.acceptors) {
      error_code ignored;
      acceptor.close(ignored);
    }
  });
  s.table.close_waiting();
  s.pool.stop();  // the handlers in flight finish (their body reads need the I/O threads)
  if (!s.table.wait_empty(kStopGrace)) {
    s.log.debug("closing connections whose responses are still being written",
                {{"connections", std::to_string(s.table.size())}});
  }
  s.io.stop();
  for (auto& t : s.threads)
    t.join();
  s.threads.clear();
}

std::vector<int> Listener::ports() const {
  std::vector<int> out;
  for (const auto& acceptor : state_->acceptors) {
    error_code ec;
    auto endpoint = acceptor.local_endpoint(ec);
    out.push_back(ec ? 0 : endpoint.port());
  }
  return out;
}

}  // namespace afp::http
