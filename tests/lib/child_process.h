#pragma once

// A built binary (afp_exporter, afp_workload) in a child process, for the exporter's tests
// (tests/unit/process_runner.h) and the workload's (workload/tests/). Its standard output
// and error go to files of their own, removed with the object; a child still running when
// the object goes away is killed, so a failing test leaves no process behind.

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace afp::test {

struct ChildOptions {
  // The environment; nullopt: this process's.
  std::optional<std::vector<std::string>> env;
  // Written to a file that becomes the child's standard input; nullopt: this process's.
  std::optional<std::string> input;
  // The mode of the output files.
  mode_t output_mode = 0644;
};

class ChildProcess {
 public:
  // argv[0] is the binary's path.
  explicit ChildProcess(std::vector<std::string> argv, ChildOptions options = {}) {
    static int counter = 0;
    prefix_ = "/tmp/afp_child_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
    if (options.input) std::ofstream(prefix_ + ".in", std::ios::binary) << *options.input;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    if (options.input) {
      posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, (prefix_ + ".in").c_str(), O_RDONLY,
                                       0);
    }
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, (prefix_ + ".out").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, options.output_mode);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, (prefix_ + ".err").c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, options.output_mode);
    auto cargv = pointers(argv);
    std::vector<char*> cenv;
    if (options.env) cenv = pointers(*options.env);
    if (posix_spawn(&pid_, cargv[0], &actions, nullptr, cargv.data(),
                    options.env ? cenv.data() : environ) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&actions);
  }
  ~ChildProcess() {
    if (started() && !exit_code_) {
      kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(5));
    }
    for (const char* suffix : {".in", ".out", ".err"})
      unlink((prefix_ + suffix).c_str());
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  std::string out() const { return slurp(prefix_ + ".out"); }
  std::string err() const { return slurp(prefix_ + ".err"); }
  void signal(int sig) const {
    if (started()) kill(pid_, sig);
  }

  // The exit code (128 + the signal's number when a signal ended it), or nullopt if the
  // process still runs after `limit`; -1 when it never started.
  std::optional<int> wait_exit(std::chrono::milliseconds limit) {
    if (!started()) return -1;
    auto until = std::chrono::steady_clock::now() + limit;
    for (;;) {
      if (exit_code_) return exit_code_;
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() >= until) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Waits for the end without a limit; the exit code as wait_exit gives it.
  int wait() {
    if (!started()) return -1;
    if (!exit_code_) {
      int status = 0;
      waitpid(pid_, &status, 0);
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    return *exit_code_;
  }

 private:
  static std::vector<char*> pointers(std::vector<std::string>& strings) {
    std::vector<char*> out;
    for (auto& s : strings)
      out.push_back(s.data());
    out.push_back(nullptr);
    return out;
  }
  static std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::string prefix_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

}  // namespace afp::test
