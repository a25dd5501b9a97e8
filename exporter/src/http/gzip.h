#pragma once

#include <memory>
#include <string>
#include <string_view>

struct z_stream_s;

namespace afp::http {

// gzip (RFC 1952) at zlib's fastest level: a scrape's text compresses about 10x at level
// 1, and the higher levels cost several times the CPU for a few percent more.
//
// A stream written in pieces: add() appends to `out` what deflate has ready (often
// nothing: it keeps up to its window), finish() the rest and the trailer. The pieces'
// concatenation is one gzip member, whatever the cuts between the inputs.
class GzipStream {
 public:
  GzipStream();
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  void add(std::string_view data, std::string& out);
  void finish(std::string& out);

 private:
  void deflate_into(std::string& out, int flush);

  struct End {
    void operator()(z_stream_s* zs) const;
  };
  std::unique_ptr<z_stream_s, End> zs_;
};

// The whole of data, gzipped in one go.
std::string gzip_compress(std::string_view data);

}  // namespace afp::http
