#pragma once

// How a subcommand reads the exporter over HTTP as Prometheus would: its TLS and
// basic-auth flags, and what a failed read tells the operator to do.

#include <string>
#include <string_view>

#include "cli/flags.h"
#include "http/client.h"

namespace afp::cli {

// --tls.ca-file, --tls.insecure-skip-verify, --basic-auth.username and
// --basic-auth.password-file as given. The password itself is only ever read from the file:
// a command line is visible to every user in `ps`.
struct ExporterClientFlags {
  std::string ca_file;
  bool insecure_skip_verify = false;
  std::string username;
  std::string password_file;
};

// The flags' lines for a subcommand's --help.
extern const std::string_view kExporterClientUsage;

// Takes the current flag when it is one of the four; false leaves it to the caller.
bool read_exporter_client_flag(FlagReader& flag, ExporterClientFlags& flags);

// The client options for reading `url`, the password read from its file (the secret-file
// rules of the exporter's own secrets). Throws std::invalid_argument with one line naming
// the flag when the URL carries credentials, the flags contradict each other or the URL,
// or the password file cannot be used; the line never holds the password.
http::ClientOptions exporter_client_options(const ExporterClientFlags& flags,
                                            const std::string& url);

// One line for a read of `url` that failed, naming the cause and the flag that fixes it.
std::string explain_failure(const http::ClientError& error, const std::string& url,
                            const ExporterClientFlags& flags);

// One line for an answer other than 200.
std::string explain_status(int status, const std::string& url, const ExporterClientFlags& flags);

}  // namespace afp::cli
