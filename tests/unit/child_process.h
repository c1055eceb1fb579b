// ChildProcess: runs a program for a test (the gputrace daemon, a Prometheus server), keeps
// its stderr so the test can wait for a line, and never outlives the test: the destructor
// kills what is still running.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace gputrace::test {

class ChildProcess {
 public:
  // argv[0] is looked up in PATH; env entries ("K=V") are added to this process's environment.
  ChildProcess(std::vector<std::string> argv, std::vector<std::string> env = {}) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
    env_strings.insert(env_strings.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    if (posix_spawnp(&pid_, args[0], &fa, nullptr, args.data(), envp.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    reader_ = std::thread([this, fd = fds[0]] {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) {
        std::lock_guard lock(mu_);
        stderr_.append(buf, static_cast<size_t>(n));
        cv_.notify_all();
      }
      close(fd);
      std::lock_guard lock(mu_);
      eof_ = true;
      cv_.notify_all();
    });
  }
  ~ChildProcess() {
    if (running()) {
      kill(pid_, SIGKILL);
      wait_exit(std::chrono::seconds(10));
    }
    if (reader_.joinable()) reader_.join();
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool started() const { return pid_ > 0; }
  bool running() const { return pid_ > 0 && !status_; }
  void signal(int sig) const {
    if (running()) kill(pid_, sig);
  }

  // The first stderr line containing `needle`, waiting up to `timeout`.
  std::optional<std::string> wait_for_line(const std::string& needle, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      const size_t at = stderr_.find(needle);
      if (at != std::string::npos) {
        const size_t begin = stderr_.rfind('\n', at) == std::string::npos ? 0 : stderr_.rfind('\n', at) + 1;
        const size_t end = stderr_.find('\n', at);
        if (end != std::string::npos) return stderr_.substr(begin, end - begin);
      }
      if (eof_ || cv_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
    }
  }

  // The exit status (as from waitpid) once it has ended, waiting up to `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int st = 0;
      const pid_t r = waitpid(pid_, &st, WNOHANG);
      if (r == pid_) {
        status_ = st;
        break;
      }
      if (r < 0 || std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status_;
  }

  std::string stderr_text() {
    std::lock_guard lock(mu_);
    return stderr_;
  }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string stderr_;
  bool eof_ = false;
};

// Runs a shell command and returns its exit code and combined output.
inline std::pair<int, std::string> run_shell(const std::string& command) {
  std::string out;
  FILE* f = popen((command + " 2>&1").c_str(), "r");
  if (!f) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  const int st = pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

inline bool have_program(const std::string& name) {
  return run_shell("command -v " + name + " >/dev/null").first == 0;
}

}  // namespace gputrace::test
