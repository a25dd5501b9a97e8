#include "http_client.h"

#include <array>
#include <memory>

#include "core/ascii.h"
#include "pipeline/curl.h"

namespace afp::workload {

namespace {

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto& headers = *static_cast<std::map<std::string, std::string>*>(user);
  std::string_view line(data, size * n);
  if (line.starts_with("HTTP/")) headers.clear();  // a new answer after a 1xx
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * n;
  std::string name(line.substr(0, colon));
  for (auto& c : name)
    c = core::ascii_lower(c);
  auto value = core::trim_space(line.substr(colon + 1));
  auto [it, inserted] = headers.try_emplace(name, value);
  if (!inserted) it->second.append(", ").append(value);
  return size * n;
}

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

}  // namespace

HttpClient::HttpClient() : easy_(pipeline::curl().curl_easy_init()) {
  if (!easy_) throw pipeline::CurlError("curl_easy_init failed");
}

HttpClient::~HttpClient() {
  pipeline::curl().curl_easy_cleanup(easy_);
}

HttpReply HttpClient::send(const HttpCall& call) {
  const auto& c = pipeline::curl();
  HttpReply reply;
  std::unique_ptr<curl_slist, void (*)(curl_slist*)> headers(nullptr, c.curl_slist_free_all);
  // libcurl would wait for a "100 Continue" before sending a large body.
  std::vector<std::string> lines = call.headers;
  lines.emplace_back("Expect:");
  for (const auto& line : lines) {
    curl_slist* next = c.curl_slist_append(headers.get(), line.c_str());
    if (!next) {
      reply.error = "out of memory building the request headers";
      return reply;
    }
    headers.release();  // next is the same list, one entry longer
    headers.reset(next);
  }
  std::array<char, CURL_ERROR_SIZE> error{};
  c.curl_easy_setopt(easy_, CURLOPT_URL, call.url.c_str());
  c.curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);  // multi-threaded: no SIGALRM
  c.curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout.count()));
  c.curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, headers.get());
  c.curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error.data());
  c.curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, &on_header);
  c.curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &reply.headers);
  c.curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, &on_body);
  c.curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &reply.body);
  if (call.method == "POST") {
    c.curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    c.curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, call.body.data());
    c.curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(call.body.size()));
  } else {
    c.curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
  }
  CURLcode rc = c.curl_easy_perform(easy_);
  // The handle outlives this call: leave it pointing at nothing of ours.
  c.curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
  c.curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
  if (rc != CURLE_OK) {
    std::string detail = error.data();
    reply.error = std::string(c.curl_easy_strerror(rc)) + (detail.empty() ? "" : ": " + detail);
    return reply;
  }
  c.curl_easy_getinfo(easy_, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace afp::workload
