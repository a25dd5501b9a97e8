// The workload's /identify uploads: the input's first line is the Content-Type header
// (form_data_boundary), the rest the body (parse_multipart, find_upload). A header that
// yields no boundary is used as the boundary itself, so that every body gets parsed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "harness_support.h"
#include "multipart.h"

using namespace afp;
using fuzz::require;

namespace {

std::string boundary_of(std::string_view content_type) {
  try {
    if (auto boundary = workload::form_data_boundary(content_type)) {
      require(!boundary->empty() && boundary->size() <= 70, "boundary length 1-70");
      return *boundary;
    }
  } catch (const workload::MultipartError&) {
  }
  return std::string(content_type);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto input = fuzz::text_of(data, size);
  auto newline = input.find('\n');
  auto content_type = input.substr(0, newline);
  auto body = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
  try {
    auto parts = workload::parse_multipart(body, boundary_of(content_type));
    for (const auto& part : parts) {
      // Part bodies are views into the request body.
      require(part.body.data() >= body.data() &&
                  part.body.data() + part.body.size() <= body.data() + body.size(),
              "part bodies lie within the body");
    }
    (void)workload::find_upload(parts);
  } catch (const workload::MultipartError&) {
  }
  return 0;
}
