#include "cli/exporter_client.h"

#include <algorithm>
#include <boost/beast/http/status.hpp>
#include <optional>
#include <stdexcept>

#include "core/secret.h"

namespace afp::cli {

const std::string_view kExporterClientUsage =
    "  --tls.ca-file FILE               trust the CA certificates in FILE (PEM) instead of the\n"
    "                                   system's; a self-signed certificate is its own CA\n"
    "  --tls.insecure-skip-verify       check neither the certificate nor its host name\n"
    "  --basic-auth.username NAME       log in as NAME (the web config's basic_auth_users)\n"
    "  --basic-auth.password-file FILE  the password: the file's text without trailing newlines\n"
    "                                   and spaces\n";

namespace {

using Kind = http::ClientError::Kind;

void check_tls_flags(const ExporterClientFlags& flags, const http::Url& parsed,
                     const std::string& url) {
  if (!flags.ca_file.empty() && flags.insecure_skip_verify) {
    throw std::invalid_argument(
        "--tls.ca-file and --tls.insecure-skip-verify contradict each other: give one");
  }
  if (!parsed.tls && (!flags.ca_file.empty() || flags.insecure_skip_verify)) {
    throw std::invalid_argument("--tls.* flags apply to https:// URLs only, not to " + url);
  }
}

void check_username(const std::string& username) {
  auto unusable = [](char c) {
    return c == ':' || static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
  };
  if (std::any_of(username.begin(), username.end(), unusable)) {
    throw std::invalid_argument(
        "--basic-auth.username: a user name cannot hold ':' (RFC 7617), spaces or control "
        "characters");
  }
}

std::optional<http::BasicCredentials> credentials(const ExporterClientFlags& flags) {
  if (flags.username.empty() != flags.password_file.empty()) {
    throw std::invalid_argument(
        "--basic-auth.username and --basic-auth.password-file go together: give both");
  }
  if (flags.username.empty()) return std::nullopt;
  check_username(flags.username);
  try {
    return http::BasicCredentials{
        flags.username, core::read_secret_file(flags.password_file, "--basic-auth.password-file " +
                                                                        flags.password_file)};
  } catch (const core::SecretError& e) {
    throw std::invalid_argument(e.what());
  }
}

std::string certificate_hint(const ExporterClientFlags& flags) {
  if (flags.ca_file.empty()) return "give --tls.ca-file, or --tls.insecure-skip-verify";
  return "--tls.ca-file " + flags.ca_file +
         " does not hold the CA that signed it; give the right one, or --tls.insecure-skip-verify";
}

// A TLS server closes on a plain request without an HTTP answer: the likeliest cause of an
// http:// exchange that breaks off.
std::string scheme_hint(const std::string& url) {
  if (url.starts_with("https://")) return "";
  return " (if the exporter has a tls_server_config, use https://)";
}

std::string reason_phrase(int status) {
  auto phrase =
      boost::beast::http::obsolete_reason(static_cast<boost::beast::http::status>(status));
  std::string reason(phrase.data(), phrase.size());
  if (reason.empty() || reason.front() == '<') return "";  // "<unknown-status>"
  return " " + reason;
}

}  // namespace

bool read_exporter_client_flag(FlagReader& flag, ExporterClientFlags& flags) {
  if (flag.is("tls.ca-file")) {
    flags.ca_file = flag.value();
  } else if (flag.is("tls.insecure-skip-verify")) {
    flag.no_value();
    flags.insecure_skip_verify = true;
  } else if (flag.is("basic-auth.username")) {
    flags.username = flag.value();
  } else if (flag.is("basic-auth.password-file")) {
    flags.password_file = flag.value();
  } else {
    return false;
  }
  return true;
}

http::ClientOptions exporter_client_options(const ExporterClientFlags& flags,
                                            const std::string& url) {
  if (http::has_userinfo(url)) {
    throw std::invalid_argument(
        "--url: no user name or password in the URL (a command line is visible in ps): give "
        "--basic-auth.username and --basic-auth.password-file");
  }
  std::string error;
  auto parsed = http::parse_url(url, &error);
  if (!parsed) throw std::invalid_argument("--url: " + error);
  check_tls_flags(flags, *parsed, url);
  http::ClientOptions options;
  options.tls = {flags.ca_file, flags.insecure_skip_verify};
  options.basic_auth = credentials(flags);
  return options;
}

std::string explain_failure(const http::ClientError& error, const std::string& url,
                            const ExporterClientFlags& flags) {
  switch (error.kind) {
    case Kind::Refused:
      return "nothing listens at " + url +
             " (connection refused): start the exporter, or correct --url";
    case Kind::Certificate:
      return url + ": " + error.message + ": " + certificate_hint(flags);
    case Kind::HostName:
      return url + ": " + error.message +
             ": put a name the certificate holds in --url, or give --tls.insecure-skip-verify";
    case Kind::CaFile:
      return "--tls.ca-file: " + error.message;
    case Kind::Timeout:
      return url + ": " + error.message + ": raise --timeout, or check the host and port";
    case Kind::NotTls:
      return url + ": " + error.message + ": use http:// in --url";
    case Kind::Exchange:
      return url + ": " + error.message + scheme_hint(url);
    case Kind::Tls:
    case Kind::Url:
    case Kind::Resolve:
    case Kind::Connect:
    case Kind::TooLarge:
      break;
  }
  return url + ": " + error.message;
}

std::string explain_status(int status, const std::string& url, const ExporterClientFlags& flags) {
  std::string line = url + " answered " + std::to_string(status) + reason_phrase(status);
  if (status == 401 && flags.username.empty()) {
    line += ": give --basic-auth.username and --basic-auth.password-file";
  } else if (status == 401) {
    line += ": it refused user \"" + flags.username + "\" with the password in " +
            flags.password_file + "; check --basic-auth.username and --basic-auth.password-file";
  } else if (status == 403) {
    line +=
        ": it accepts no request for this path from this client; check --url and "
        "--basic-auth.username";
  } else if (status == 400) {
    // Our TLS listener answers a plain request so (http/session.cpp).
    line += scheme_hint(url);
  }
  return line;
}

}  // namespace afp::cli
