// The strict multipart/form-data reader of POST /identify: what browsers, curl and the
// exporter's probe send parses exactly; everything malformed is refused with a reason.
#include <catch2/catch.hpp>
#include <string>

#include "multipart.h"

using namespace afp::workload;

namespace {

const std::string kBoundary = "------------------------d74496d66958873e";

std::string part(const std::string& headers, const std::string& content) {
  return "--" + kBoundary + "\r\n" + headers + "\r\n" + content + "\r\n";
}

std::string closing() {
  return "--" + kBoundary + "--\r\n";
}

// Audio-like bytes with the traps in them: NULs, CRLFs, dashes, and the boundary itself
// (which is only a delimiter after a CRLF).
const std::string kAudio = std::string("RIFF\0\0\x01\x02WAVE\r\n--\r\n\r\nx--", 23) + kBoundary +
                           std::string("\0\xff\xfe tail", 8);

std::string one_file_body() {
  return part(
             "Content-Disposition: form-data; name=\"file\"; filename=\"clip.wav\"\r\n"
             "Content-Type: audio/wav\r\n",
             kAudio) +
         closing();
}

std::string refusal(const std::string& body) {
  try {
    parse_multipart(body, kBoundary);
  } catch (const MultipartError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("multipart: the boundary comes from a form-data Content-Type", "[multipart]") {
  CHECK(form_data_boundary("multipart/form-data; boundary=" + kBoundary) == kBoundary);
  CHECK(form_data_boundary("Multipart/Form-Data;boundary=\"a b:c\"") == "a b:c");
  CHECK(form_data_boundary("multipart/form-data; charset=utf-8; boundary=x") == "x");
  CHECK_FALSE(form_data_boundary("audio/wav").has_value());
  CHECK_FALSE(form_data_boundary("").has_value());
  CHECK_FALSE(form_data_boundary("application/octet-stream; boundary=x").has_value());

  CHECK_THROWS_WITH(form_data_boundary("multipart/mixed; boundary=x"),
                    Catch::Contains("multipart/mixed is not supported"));
  CHECK_THROWS_WITH(form_data_boundary("multipart/form-data"),
                    Catch::Contains("without a boundary"));
  CHECK_THROWS_WITH(form_data_boundary("multipart/form-data; boundary=" + std::string(71, 'a')),
                    Catch::Contains("1 to 70"));
  CHECK_THROWS_AS(form_data_boundary("multipart/form-data; boundary=\"x \""), MultipartError);
  CHECK_THROWS_AS(form_data_boundary("multipart/form-data; boundary=a;b"), MultipartError);
  CHECK_THROWS_AS(form_data_boundary("multipart/form-data; boundary=\"x"), MultipartError);
  CHECK_THROWS_AS(form_data_boundary("multipart/form-data; boundary=x; boundary=y"),
                  MultipartError);
  CHECK_THROWS_AS(form_data_boundary("multipart/form-data; boundary"), MultipartError);
}

TEST_CASE("multipart: a file upload as curl -F sends it keeps every byte", "[multipart]") {
  const std::string body = one_file_body();  // the parts view into it
  auto parts = parse_multipart(body, kBoundary);
  REQUIRE(parts.size() == 1);
  CHECK(parts[0].name == "file");
  CHECK(parts[0].filename == "clip.wav");
  CHECK(parts[0].content_type == "audio/wav");
  CHECK(parts[0].body == kAudio);
  CHECK(find_upload(parts) == &parts[0]);
}

TEST_CASE("multipart: fields, preamble, epilogue and empty parts", "[multipart]") {
  std::string body =
      "a preamble to ignore\r\n" +
      part("Content-Disposition: form-data; name=\"note\"\r\n", "hello") +
      part("content-disposition: form-data; name=\"empty\"\r\n", "") +
      part("Content-Disposition: form-data; name=\"upload\"; filename=\"a \\\"b\\\".wav\"\r\n",
           kAudio) +
      "--" + kBoundary + "--  \r\nan epilogue to ignore";
  auto parts = parse_multipart(body, kBoundary);
  REQUIRE(parts.size() == 3);
  CHECK(parts[0].name == "note");
  CHECK(parts[0].body == "hello");
  CHECK_FALSE(parts[0].filename.has_value());
  CHECK(parts[1].body.empty());
  CHECK(parts[2].filename == "a \"b\".wav");
  CHECK(parts[2].content_type.empty());
  CHECK(find_upload(parts) == &parts[2]);  // the first with a filename
}

TEST_CASE("multipart: the upload is the part named file when none has a filename", "[multipart]") {
  std::string body = part("Content-Disposition: form-data; name=\"other\"\r\n", "x") +
                     part("Content-Disposition: form-data; name=file\r\n", kAudio) + closing();
  auto parts = parse_multipart(body, kBoundary);
  REQUIRE(parts.size() == 2);
  CHECK(find_upload(parts) == &parts[1]);
  CHECK(find_upload(parts)->body == kAudio);

  const std::string no_file =
      part("Content-Disposition: form-data; name=\"other\"\r\n", "x") + closing();
  auto fields = parse_multipart(no_file, kBoundary);
  CHECK(find_upload(fields) == nullptr);
}

TEST_CASE("multipart: malformed bodies are refused with the reason", "[multipart]") {
  const std::string disposition = "Content-Disposition: form-data; name=\"file\"\r\n";
  CHECK_THAT(refusal(""), Catch::Contains("no multipart boundary"));
  CHECK_THAT(refusal("just audio bytes"), Catch::Contains("no multipart boundary"));
  CHECK_THAT(refusal(part(disposition, kAudio)), Catch::Contains("no closing boundary"));
  CHECK_THAT(refusal(part(disposition, kAudio) + "--" + kBoundary),
             Catch::Contains("ends without a closing boundary"));
  CHECK_THAT(refusal("--" + kBoundary + "\r\n" + disposition + "\r\nabc"),
             Catch::Contains("no closing boundary"));
  CHECK_THAT(refusal("--" + kBoundary + "\r\n" + disposition),
             Catch::Contains("ends inside a part's headers"));
  CHECK_THAT(refusal("--" + kBoundary + "X\r\n" + disposition + "\r\nabc\r\n" + closing()),
             Catch::Contains("malformed boundary line"));
  CHECK_THAT(refusal(part("Content-Type: audio/wav\r\n", "abc") + closing()),
             Catch::Contains("without Content-Disposition"));
  CHECK_THAT(refusal(part("", "abc") + closing()), Catch::Contains("without Content-Disposition"));
  CHECK_THAT(refusal(part("Content-Disposition: attachment; name=\"file\"\r\n", "abc") + closing()),
             Catch::Contains("not form-data"));
  CHECK_THAT(
      refusal(part("Content-Disposition: form-data; filename=\"a.wav\"\r\n", "abc") + closing()),
      Catch::Contains("has no name"));
  CHECK_THAT(refusal(part(disposition + disposition, "abc") + closing()),
             Catch::Contains("given twice"));
  CHECK_THAT(
      refusal(part("Content-Disposition: form-data; name=\"a\"; name=\"b\"\r\n", "x") + closing()),
      Catch::Contains("name given twice"));
  CHECK_THAT(refusal(part("Content-Disposition: form-data; name=\"file\r\n", "abc") + closing()),
             Catch::Contains("unterminated quoted value"));
  CHECK_THAT(refusal(part(disposition + " folded: line\r\n", "abc") + closing()),
             Catch::Contains("folded"));
  CHECK_THAT(refusal(part("no colon here\r\n", "abc") + closing()),
             Catch::Contains("header without a name"));
  // Bare LF line ends are not multipart.
  CHECK_THAT(refusal("--" + kBoundary + "\n" +
                     "Content-Disposition: form-data; name=\"f\"\n\nabc\n--" + kBoundary + "--\n"),
             Catch::Contains("malformed boundary line"));
  CHECK_THAT(refusal(part("Content-Disposition: form-data; name=\"f\"; x\r\n", "a") + closing()),
             Catch::Contains("without '='"));
  CHECK_THAT(refusal(part("Content-Disposition: form-data; name=\"f\"\r\n" +
                              std::string("X-Long: ") + std::string(9000, 'x') + "\r\n",
                          "a") +
                     closing()),
             Catch::Contains("exceed 8 KiB"));
  std::string many;
  for (int i = 0; i < 101; ++i)
    many += part("Content-Disposition: form-data; name=\"f\"\r\n", "x");
  CHECK_THAT(refusal(many + closing()), Catch::Contains("more than 100 parts"));
}

TEST_CASE("multipart: every truncation of a valid body parses or is refused", "[multipart]") {
  const std::string body = one_file_body();
  for (std::size_t n = 0; n <= body.size(); ++n) {
    auto prefix = body.substr(0, n);
    try {
      auto parts = parse_multipart(prefix, kBoundary);
      // Only once the closing delimiter is in can it parse, and then it is the whole file.
      REQUIRE(parts.size() == 1);
      CHECK(parts[0].body == kAudio);
    } catch (const MultipartError&) {
    }
  }
}
