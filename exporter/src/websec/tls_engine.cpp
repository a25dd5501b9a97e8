#include "websec/tls_engine.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <climits>

namespace afp::websec {

namespace {

using Want = http::TlsEngine::Want;
using Step = http::TlsEngine::Step;

int clamp(std::size_t size) {
  return static_cast<int>(std::min<std::size_t>(size, INT_MAX));
}

// The SSL reads and writes its records through a BIO pair: ciphertext goes in and comes out
// of the external end, as Asio's own engine does, so any transport can carry it.
class Engine final : public http::TlsEngine {
 public:
  explicit Engine(SSL* ssl) : ssl_(ssl) {
    // As Asio's engine: a write may complete record by record, from a buffer that moved.
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                           SSL_MODE_RELEASE_BUFFERS);
    BIO* internal = nullptr;
    BIO_new_bio_pair(&internal, 0, &external_, 0);
    SSL_set_bio(ssl_, internal, internal);
    SSL_set_accept_state(ssl_);
  }
  ~Engine() override {
    BIO_free(external_);
    SSL_free(ssl_);
  }
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Step handshake() override {
    return perform([this] { return SSL_do_handshake(ssl_); });
  }
  Step read(void* data, std::size_t size) override {
    if (size == 0) return {};
    return perform([&] { return SSL_read(ssl_, data, clamp(size)); });
  }
  Step write(const void* data, std::size_t size) override {
    if (size == 0) return {};
    return perform([&] { return SSL_write(ssl_, data, clamp(size)); });
  }
  std::size_t put_input(const void* data, std::size_t size) override {
    int n = BIO_write(external_, data, clamp(size));
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }
  std::size_t take_output(void* data, std::size_t size) override {
    int n = BIO_read(external_, data, clamp(size));
    return n > 0 ? static_cast<std::size_t>(n) : 0;
  }

 private:
  // What OpenSSL's answer asks of the transport; the same decisions as Asio's engine.
  template <class Op>
  Step perform(Op op) {
    std::size_t pending_before = BIO_ctrl_pending(external_);
    ERR_clear_error();
    int result = op();
    int error = SSL_get_error(ssl_, result);
    bool more_output = BIO_ctrl_pending(external_) > pending_before;
    ERR_clear_error();
    Step step;
    if (error == SSL_ERROR_SSL || error == SSL_ERROR_SYSCALL) {
      step.failed = true;  // the alert, if any, still goes out
      step.want = more_output ? Want::Output : Want::Nothing;
      return step;
    }
    if (result > 0) step.bytes = static_cast<std::size_t>(result);
    if (error == SSL_ERROR_WANT_WRITE) {
      step.want = Want::OutputAndRetry;
    } else if (more_output) {
      step.want = result > 0 ? Want::Output : Want::OutputAndRetry;
    } else if (error == SSL_ERROR_WANT_READ) {
      step.want = Want::Input;
    } else if (error == SSL_ERROR_ZERO_RETURN) {
      step.closed = true;
    } else if (error != SSL_ERROR_NONE) {
      step.failed = true;
    }
    return step;
  }

  SSL* ssl_;
  BIO* external_ = nullptr;
};

}  // namespace

std::unique_ptr<http::TlsEngine> make_tls_engine(ssl_st* ssl) {
  return std::make_unique<Engine>(ssl);
}

}  // namespace afp::websec
