#include "attach_test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace gputrace::cupti::testing {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The host pid of the process whose command line holds `marker` (unique: the stop file).
pid_t find_by_cmdline(const std::string& marker, const std::string& exe_part) {
  DIR* d = opendir("/proc");
  pid_t found = -1;
  while (dirent* e = d ? readdir(d) : nullptr) {
    const pid_t pid = std::atoi(e->d_name);
    if (pid <= 0) continue;
    std::string cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    if (cmd.find(marker) != std::string::npos && cmd.rfind(exe_part, 0) == 0) found = pid;
  }
  if (d) closedir(d);
  return found;
}

}  // namespace

bool eventually(const std::function<bool()>& f, int ms) {
  for (int i = 0; i < ms / 10; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return f();
}

std::string TargetOutcome::counters() const {
  const size_t end = out.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  const size_t start = out.rfind('\n', end);
  return out.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}

Target::Target(const TargetOptions& o) {
  const std::string stop = dir_.file("stop");
  std::vector<std::string> target{GPUTRACE_ATTACH_TARGET, "--until", stop, "--exit-code", std::to_string(o.exit_code),
                                  "--idle", o.idle};
  if (o.driver) target.insert(target.end(), {"--driver", GPUTRACE_STANDIN_CUDA});
  target.insert(target.end(), o.flags.begin(), o.flags.end());
  std::vector<std::string> env = o.env;
  env.push_back("LD_PRELOAD=" GPUTRACE_STANDIN_CUPTI);
  std::vector<std::string> argv = o.runner;
  ::chmod(dir_.path().c_str(), 0755);  // a target run as another user must see the stop file
  if (o.container) {
    // A private mount namespace where gputrace's library is another file (/dev/null bound
    // over it), its own pid namespace (the target is pid 1 there) and network namespace.
    std::string cmd = "mount --bind /dev/null " GPUTRACE_CUPTI_LIBRARY " && exec";
    for (const auto& a : target) cmd += " '" + a + "'";
    argv.insert(argv.end(), {"/usr/bin/unshare", "--mount", "--pid", "--net", "--fork", "--mount-proc", "/bin/sh", "-c", cmd});
  } else {
    argv.insert(argv.end(), target.begin(), target.end());
  }
  // Output into files: the stand-in logs every CUPTI call, more than a pipe holds.
  const std::string out = dir_.file("out"), err = dir_.file("err");
  child_ = ::fork();
  if (child_ == 0) {
    ::dup2(::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 1);
    ::dup2(::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600), 2);
    for (const auto& e : env) ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  eventually([&] { return read_file(out).find("ready ") != std::string::npos; }, 10'000);
  pid_ = o.container ? find_by_cmdline(stop, GPUTRACE_ATTACH_TARGET) : child_;  // setpriv execs: same pid
}

Target::~Target() {
  if (!stopped_) stop();
}

bool Target::running() const { return pid_ > 0 && ::kill(pid_, 0) == 0; }

void Target::send_signals(int n) {
  for (int i = 0; i < n; ++i) {
    if (::kill(pid_, SIGRTMIN) == 0) ++signals_sent_;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::string Target::stderr_so_far() const { return read_file(dir_.file("err")); }

TargetOutcome Target::stop() {
  stopped_ = true;
  std::ofstream(dir_.file("stop")) << "stop";
  TargetOutcome o;
  int status = 0;
  if (::waitpid(child_, &status, 0) == child_ && WIFEXITED(status)) o.exit_code = WEXITSTATUS(status);
  o.out = read_file(dir_.file("out"));
  o.err = read_file(dir_.file("err"));
  return o;
}

std::vector<std::string> thread_names(pid_t pid) {
  std::vector<std::string> names;
  const std::string task = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(task.c_str());
  while (dirent* e = d ? readdir(d) : nullptr) {
    if (e->d_name[0] == '.') continue;
    std::string comm = read_file(task + "/" + e->d_name + "/comm");
    if (!comm.empty() && comm.back() == '\n') comm.pop_back();
    names.push_back(comm);
  }
  if (d) closedir(d);
  return names;
}

bool has_library_thread(pid_t pid) {
  for (const auto& n : thread_names(pid))
    if (n == "gputrace-cupti") return true;
  return false;
}

std::vector<std::string> maps_with(pid_t pid, const std::string& part) {
  std::vector<std::string> lines;
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/maps"));
  for (std::string line; std::getline(in, line);)
    if (line.find(part) != std::string::npos) lines.push_back(line);
  return lines;
}

int anonymous_code_mappings(pid_t pid) {
  int n = 0;
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/maps"));
  for (std::string line; std::getline(in, line);) {
    std::istringstream fields(line);
    std::string range, perms, offset, dev, inode, path;
    fields >> range >> perms >> offset >> dev >> inode >> path;
    if (perms == "r-xp" && inode == "0" && path.empty()) ++n;
  }
  return n;
}

int tracer_of(pid_t pid) {
  std::istringstream in(read_file("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("TracerPid:", 0) == 0) return std::atoi(line.c_str() + 10);
  return -1;
}

ProgramResult gputrace(const std::vector<std::string>& args) {
  std::vector<std::string> argv{GPUTRACE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return run_program(argv, {});
}

std::string Background::err() const { return read_file(err_file); }

bool Background::wait_for(const std::string& text, int ms) const {
  return eventually([&] { return err().find(text) != std::string::npos; }, ms);
}

Background gputrace_background(const std::vector<std::string>& args, const std::string& err_file) {
  std::vector<std::string> argv{"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>" + err_file, GPUTRACE_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  return {start_program(argv, {}), err_file};
}

}  // namespace gputrace::cupti::testing
