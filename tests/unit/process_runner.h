#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
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

}  // namespace afp::test
