#pragma once

#include <string>
#include <string_view>

namespace afp::http {

// gzip (RFC 1952) of data at zlib's fastest level: a scrape's text compresses about 10x
// at level 1, and the higher levels cost several times the CPU for a few percent more.
std::string gzip_compress(std::string_view data);

}  // namespace afp::http
