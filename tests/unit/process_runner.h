#pragma once

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "lib/child_process.h"

namespace afp::test {

// The real afp_exporter binary in a child process, stderr captured to a file.
class ExporterProcess {
 public:
  explicit ExporterProcess(std::vector<std::string> args) : child_(argv(std::move(args))) {}

  std::string log() const { return child_.err(); }

  // The port of the first "listening" log line, once the server is up.
  std::optional<int> wait_port(std::chrono::milliseconds limit = std::chrono::seconds(20)) {
    static const std::regex kPort("msg=listening .*port=([0-9]+)");
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      std::smatch m;
      auto text = log();
      if (std::regex_search(text, m, kPort)) return std::stoi(m[1]);
      if (wait_exit(std::chrono::milliseconds(0))) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
  }

  // The exit code, or nullopt if the process is still running after `limit`.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) { return child_.wait_exit(limit); }

  void signal(int sig) const { child_.signal(sig); }

 private:
  static std::vector<std::string> argv(std::vector<std::string> args) {
    args.insert(args.begin(), AFP_EXPORTER_BINARY);
    return args;
  }
  ChildProcess child_;
};

// What a run of the binary to its end gave.
struct Finished {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the real afp_exporter binary with `input` on its standard input until it exits.
inline Finished run_exporter(std::vector<std::string> args, const std::string& input) {
  args.insert(args.begin(), AFP_EXPORTER_BINARY);
  ChildOptions options;
  options.input = input;
  options.output_mode = 0600;
  ChildProcess child(std::move(args), options);
  Finished result;
  result.code = child.wait();
  result.out = child.out();
  result.err = child.err();
  return result;
}

}  // namespace afp::test
