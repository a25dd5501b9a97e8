#include "cli/web.h"

#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "http/basic_auth.h"
#include "http/web_security.h"

namespace afp::cli {

namespace {

constexpr std::string_view kUsage =
    "usage: afp_exporter web hash-password [--cost N] < password-file\n\n"
    "Reads a password, alone on one line, from standard input and prints its bcrypt hash\n"
    "for basic_auth_users in --web.config.file. Nothing else is printed on standard output.\n\n"
    "  --cost N   bcrypt cost, 4 to 31 (default 10); each step doubles the time a login\n"
    "             check takes (about 70 ms at 10).\n";

constexpr std::string_view kPrefix = "afp_exporter web hash-password: ";
// Enough to tell an over-long password (bcrypt reads 72 bytes) from one of the right size.
constexpr std::size_t kMaxInputBytes = 4096;

// The terminal's echo, off while the password is typed.
class EchoOff {
 public:
  EchoOff() {
    if (tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios quiet = saved_;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    active_ = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
  }
  ~EchoOff() {
    if (active_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  EchoOff(const EchoOff&) = delete;
  EchoOff& operator=(const EchoOff&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

// What stdin holds, at most kMaxInputBytes + 1 bytes; from a terminal, one typed line.
std::string read_input(std::istream& in, bool terminal) {
  std::string input;
  char c = 0;
  while (input.size() <= kMaxInputBytes && in.get(c)) {
    if (terminal && c == '\n') break;
    input += c;
  }
  return input;
}

// The password out of the input, or why there is none.
std::string password_of(std::string input, std::string* problem) {
  if (input.ends_with('\n')) input.pop_back();
  if (input.ends_with('\r')) input.pop_back();
  if (input.empty()) {
    *problem =
        "the password on standard input is empty: give it alone on one line, e.g. "
        "afp_exporter web hash-password < password-file";
  } else if (input.find('\n') != std::string::npos) {
    *problem = "standard input holds more than one line: give the password alone on one line";
  } else if (input.find('\0') != std::string::npos) {
    *problem = "the password holds a NUL byte, which a login can never match";
  } else if (input.size() > http::kBcryptMaxPasswordBytes) {
    *problem =
        "the password is longer than 72 bytes, all that bcrypt reads of it: choose a "
        "shorter one";
  }
  return input;
}

std::optional<int> parse_cost(std::string_view text) {
  int cost = 0;
  auto end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, cost);
  if (ec != std::errc() || ptr != end || cost < 4 || cost > 31) return std::nullopt;
  return cost;
}

// The bcrypt cost the flags ask for; nullopt, with one line on err, for a bad flag.
std::optional<int> cost_of(const std::vector<std::string>& flags, std::ostream& err) {
  int cost = http::kBcryptDefaultCost;
  for (std::size_t i = 0; i < flags.size(); ++i) {
    std::string_view flag = flags[i];
    if (flag != "--cost" && !flag.starts_with("--cost=")) {
      err << kPrefix << "unknown flag \"" << flag << "\" (the only one is --cost N; see --help)\n";
      return std::nullopt;
    }
    std::string_view value = flag.substr(std::min(flag.size(), std::size_t{7}));
    if (flag == "--cost") value = i + 1 < flags.size() ? std::string_view(flags[++i]) : "";
    auto parsed = parse_cost(value);
    if (!parsed) {
      err << kPrefix << "--cost takes a whole number from 4 to 31\n";
      return std::nullopt;
    }
    cost = *parsed;
  }
  return cost;
}

int hash_password(const std::vector<std::string>& flags, std::istream& in, std::ostream& out,
                  std::ostream& err) {
  auto cost = cost_of(flags, err);
  if (!cost) return 2;
  bool terminal = &in == &std::cin && isatty(STDIN_FILENO);
  std::string input;
  if (terminal) {
    err << "password: " << std::flush;
    EchoOff echo_off;
    input = read_input(in, true);
    err << "\n";
  } else {
    input = read_input(in, false);
  }
  std::string problem;
  std::string password = password_of(std::move(input), &problem);
  if (!problem.empty()) {
    err << kPrefix << problem << "\n";
    return 2;
  }
  try {
    auto result = http::web_security().bcrypt_hash(password, *cost);
    if (result.hash.empty()) {
      err << kPrefix << result.error << "\n";
      return 2;
    }
    out << result.hash << "\n";
  } catch (const std::runtime_error& e) {  // the module cannot be loaded
    err << kPrefix << e.what() << "\n";
    return 2;
  }
  return 0;
}

}  // namespace

int run_web(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
            std::ostream& err) {
  for (const auto& arg : args) {
    if (arg == "--help" || arg == "-h") {
      out << kUsage;
      return 0;
    }
  }
  if (args.empty() || args[0] != "hash-password") {
    err << "afp_exporter web: "
        << (args.empty() ? "a command is needed" : "unknown command \"" + args[0] + "\"")
        << ": the only one is hash-password (see afp_exporter web --help)\n";
    return 2;
  }
  return hash_password({args.begin() + 1, args.end()}, in, out, err);
}

}  // namespace afp::cli
