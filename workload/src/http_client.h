#pragma once

// A small blocking HTTP client over the exporter's dlopen'ed libcurl
// (afp::pipeline::curl()): the reporter's pushes, the load generator's uploads and the
// `fault` command. One handle, reused so keep-alive connections are too; not thread-safe.

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

typedef void CURL;

namespace afp::workload {

struct HttpCall {
  std::string url;
  std::string method = "POST";       // GET or POST
  std::vector<std::string> headers;  // "Name: value"
  std::string_view body;             // POST only; must outlive send()
  std::chrono::milliseconds timeout{10000};
};

struct HttpReply {
  long status = 0;  // 0 when no answer came
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined by ", "
  std::string error;                           // why no answer came
  bool answered() const { return status != 0; }
};

class HttpClient {
 public:
  // Throws afp::pipeline::CurlError when libcurl cannot be loaded.
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  HttpReply send(const HttpCall& call);

 private:
  CURL* easy_;
};

}  // namespace afp::workload
