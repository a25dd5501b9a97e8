#pragma once

// `afp_exporter web hash-password`: the bcrypt hash of a password for basic_auth_users in
// --web.config.file, made by the same crypt(3) the exporter checks logins with.

#include <istream>
#include <ostream>
#include <string>
#include <vector>

namespace afp::cli {

// args are what follows "web". Reads the password, one line, from `in` (with the terminal's
// echo off when `in` is the terminal's standard input) and prints only its hash on `out`.
// Returns 0, or 2 with one line on `err`: an empty or over-long password, more than one
// line, a bad flag.
int run_web(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err);

}  // namespace afp::cli
