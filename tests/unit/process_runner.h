#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "golden.h"

extern char** environ;

namespace afp::test {

// The real afp_exporter binary in a child process, stderr captured to a file.
class ExporterProcess {
 public:
  explicit ExporterProcess(std::vector<std::string> args) {
    log_path_ = "/tmp/afp_exporter_test_" + std::to_string(getpid()) + "_" +
                std::to_string(counter()++) + ".log";
    std::vector<std::string> argv{AFP_EXPORTER_BINARY};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv)
      cargv.push_back(a.data());
    cargv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, log_path_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ExporterProcess() {
    if (!exited_) {
      kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(5));
    }
    unlink(log_path_.c_str());
  }

  std::string log() const { return slurp(log_path_); }

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
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (exited_) return exit_code_;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  void signal(int sig) const { kill(pid_, sig); }

 private:
  static int& counter() {
    static int n = 0;
    return n;
  }
  pid_t pid_ = -1;
  bool exited_ = false;
  int exit_code_ = -1;
  std::string log_path_;
};

// What a run of the binary to its end gave.
struct Finished {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs the real afp_exporter binary with `input` on its standard input until it exits.
inline Finished run_exporter(std::vector<std::string> args, const std::string& input) {
  static int runs = 0;
  std::string base =
      "/tmp/afp_exporter_run_" + std::to_string(getpid()) + "_" + std::to_string(runs++) + "_";
  std::string in_path = base + "in", out_path = base + "out", err_path = base + "err";
  { std::ofstream(in_path, std::ios::binary) << input; }
  args.insert(args.begin(), AFP_EXPORTER_BINARY);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = -1;
  Finished result;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    waitpid(pid, &status, 0);
    result.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  result.out = slurp(out_path);
  result.err = slurp(err_path);
  for (const auto& path : {in_path, out_path, err_path})
    unlink(path.c_str());
  return result;
}

}  // namespace afp::test
