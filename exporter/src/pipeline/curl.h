#pragma once

#include <curl/curl.h>

#include <stdexcept>

namespace afp::pipeline {

// libcurl, loaded with dlopen when a probe is configured. Linked normally it would add
// about 5.8 MB of resident shared libraries (nghttp2, libssh2, LDAP, Kerberos...) to every
// exporter, including the many that never probe. The headers only give the types.
#define AFP_CURL_FUNCTIONS(X) \
  X(curl_global_init)         \
  X(curl_easy_init)           \
  X(curl_easy_setopt)         \
  X(curl_easy_perform)        \
  X(curl_easy_getinfo)        \
  X(curl_easy_cleanup)        \
  X(curl_easy_strerror)       \
  X(curl_slist_append)        \
  X(curl_slist_free_all)      \
  X(curl_mime_init)           \
  X(curl_mime_addpart)        \
  X(curl_mime_name)           \
  X(curl_mime_data_cb)        \
  X(curl_mime_filename)       \
  X(curl_mime_type)           \
  X(curl_mime_free)

struct Curl {
#define AFP_CURL_MEMBER(name) decltype(&::name) name = nullptr;
  AFP_CURL_FUNCTIONS(AFP_CURL_MEMBER)
#undef AFP_CURL_MEMBER
};

class CurlError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The loaded library, curl_global_init done once (thread-safe). Throws CurlError ("install
// libcurl4") when the library cannot be loaded or initialised.
const Curl& curl();

}  // namespace afp::pipeline
