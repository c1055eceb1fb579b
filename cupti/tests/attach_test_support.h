// What the `gputrace attach` tests share: a busy target process (attach_target.cc with the
// stand-in libcupti preloaded and the stand-in libcuda loaded), started plainly or inside
// new mount, pid and network namespaces with gputrace's library hidden, its output and exit
// code once told to stop; and facts about it read from /proc while it runs.
#pragma once

#include "subprocess.h"
#include "temp_dir.h"

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

namespace gputrace::cupti::testing {

struct TargetOptions {
  bool driver = true;          // load the stand-in libcuda.so.1
  bool container = false;      // unshare mount, pid and net namespaces; hide gputrace's library
  int exit_code = 3;
  std::string idle = "all";    // attach_target --idle
  std::vector<std::string> flags;  // more attach_target arguments
  std::vector<std::string> env;    // more environment (the stand-in's settings)
  std::vector<std::string> runner; // a command the target runs under ("setpriv --reuid=...")
};

struct TargetOutcome {
  std::string out, err;
  int exit_code = -1;
  std::string counters() const;  // the last line of out: what must not change
};

class Target {
 public:
  explicit Target(const TargetOptions& o = {});
  ~Target();
  Target(const Target&) = delete;
  Target& operator=(const Target&) = delete;

  pid_t pid() const { return pid_; }  // as the host sees it
  bool running() const;
  // Sends SIGRTMIN n times, spaced so that none waits behind another.
  void send_signals(int n);
  int signals_sent() const { return signals_sent_; }
  TargetOutcome stop();
  std::string stderr_so_far() const;

 private:
  test_support::TempDir dir_;
  int child_ = -1;
  pid_t pid_ = -1;
  int signals_sent_ = 0;
  bool stopped_ = false;
};

// Names of the process's threads (/proc/PID/task/*/comm).
std::vector<std::string> thread_names(pid_t pid);
bool has_library_thread(pid_t pid);  // the library's worker, "gputrace-cupti"
// Lines of /proc/PID/maps that contain `part`.
std::vector<std::string> maps_with(pid_t pid, const std::string& part);
// Anonymous executable mappings (the attach region's code page; the vDSO is named).
int anonymous_code_mappings(pid_t pid);
int tracer_of(pid_t pid);

// `gputrace ARGS...`, waited for.
ProgramResult gputrace(const std::vector<std::string>& args);
// `gputrace ARGS...` left running; its stderr goes to a file the test can read meanwhile.
struct Background {
  RunningProgram program;
  std::string err_file;
  std::string err() const;
  bool wait_for(const std::string& text, int ms) const;
};
Background gputrace_background(const std::vector<std::string>& args, const std::string& err_file);

bool eventually(const std::function<bool()>& f, int ms);

}  // namespace gputrace::cupti::testing
