#include "http/gzip.h"

#include <zlib.h>

#include <algorithm>
#include <stdexcept>

namespace afp::http {

namespace {

constexpr int kGzipWindowBits = 15 + 16;  // +16 selects the gzip wrapper
constexpr std::size_t kMinOutputRoom = 16 * 1024;

}  // namespace

void GzipStream::End::operator()(z_stream_s* zs) const {
  deflateEnd(zs);
  delete zs;
}

GzipStream::GzipStream() : zs_(new z_stream_s{}) {
  if (deflateInit2(zs_.get(), Z_BEST_SPEED, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    delete zs_.release();  // deflateEnd of a stream that never started would be an error
    throw std::runtime_error("deflateInit2 failed");
  }
}

GzipStream::~GzipStream() = default;

void GzipStream::add(std::string_view data, std::string& out) {
  zs_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs_->avail_in = static_cast<uInt>(data.size());
  deflate_into(out, Z_NO_FLUSH);
}

void GzipStream::finish(std::string& out) {
  zs_->next_in = nullptr;
  zs_->avail_in = 0;
  deflate_into(out, Z_FINISH);
}

// Runs deflate until it has taken all the input (and, with Z_FINISH, written the
// trailer), growing `out` as it needs room.
void GzipStream::deflate_into(std::string& out, int flush) {
  for (;;) {
    std::size_t used = out.size();
    // Text compresses about tenfold: an eighth of the input is room enough for most calls.
    std::size_t room = std::max<std::size_t>(kMinOutputRoom, zs_->avail_in / 8);
    out.resize(used + room);
    zs_->next_out = reinterpret_cast<Bytef*>(out.data() + used);
    zs_->avail_out = static_cast<uInt>(room);
    int rc = deflate(zs_.get(), flush);
    out.resize(used + room - zs_->avail_out);
    if (rc == Z_STREAM_END) return;
    if (rc != Z_OK && rc != Z_BUF_ERROR) throw std::runtime_error("deflate failed");
    if (flush == Z_NO_FLUSH && zs_->avail_in == 0 && zs_->avail_out != 0) return;
  }
}

std::string gzip_compress(std::string_view data) {
  GzipStream gzip;
  std::string out;
  gzip.add(data, out);
  gzip.finish(out);
  return out;
}

}  // namespace afp::http
