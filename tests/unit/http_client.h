#pragma once

#include <curl/curl.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace afp::test {

struct HttpResult {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string error;                           // curl's message when no answer came
};

// Optional settings of a request; the defaults make a plain one.
struct RequestOptions {
  std::string user_password = {};  // "user:password": send basic auth credentials
  std::string ca_file = {};        // https: trust this PEM certificate (name checks stay on)
  std::string client_cert = {};    // https: present this certificate and key (PEM files)
  std::string client_key = {};
  long tls_version = 0;  // CURLOPT_SSLVERSION, e.g. CURL_SSLVERSION_TLSv1_2 | MAX_TLSv1_2
  std::optional<std::string> body = {};  // request body (POST)
  long timeout_seconds = 20;             // no answer within this: status 0, error set
};

// A blocking HTTP request with libcurl; no automatic decompression, so gzip bodies
// arrive as sent.
inline HttpResult http_request(const std::string& url, const std::string& method = "GET",
                               const std::vector<std::string>& headers = {},
                               const RequestOptions& options = {}) {
  HttpResult result;
  CURL* curl = curl_easy_init();
  curl_slist* list = nullptr;
  for (const auto& h : headers)
    list = curl_slist_append(list, h.c_str());
  auto on_body = +[](char* data, size_t size, size_t n, void* user) {
    static_cast<std::string*>(user)->append(data, size * n);
    return size * n;
  };
  auto on_header = +[](char* data, size_t size, size_t n, void* user) {
    std::string line(data, size * n);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' '))
        value.erase(0, 1);
      while (!value.empty() && (value.back() == '\r' || value.back() == '\n'))
        value.pop_back();
      (*static_cast<std::map<std::string, std::string>*>(user))[name] = value;
    }
    return size * n;
  };
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &result.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &result.headers);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, options.timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (!options.user_password.empty()) {
    curl_easy_setopt(curl, CURLOPT_USERPWD, options.user_password.c_str());
  }
  if (!options.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options.ca_file.c_str());
  if (!options.client_cert.empty()) {
    curl_easy_setopt(curl, CURLOPT_SSLCERT, options.client_cert.c_str());
    curl_easy_setopt(curl, CURLOPT_SSLKEY, options.client_key.c_str());
  }
  if (options.tls_version) curl_easy_setopt(curl, CURLOPT_SSLVERSION, options.tls_version);
  if (options.body) {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, options.body->data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(options.body->size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &result.status);
  } else {
    result.error = curl_easy_strerror(rc);
  }
  curl_slist_free_all(list);
  curl_easy_cleanup(curl);
  return result;
}

}  // namespace afp::test
