// injection_host_app: a stand-in for a CUDA application, run with the stand-in libcupti
// preloaded (standin_cupti.cc). It loads the injection library as libcuda's cuInit would and
// then does what its arguments say, in order:
//   kernels N   "runs" N kernels (the stand-in reports them at the next flush)
//   api N TID   N runtime API records of thread TID
//   overheads N N CUPTI OVERHEAD records
//   bad F P     F kernels ending an hour in the future, P starting a minute in the past
//   graph G N   a launch of CUDA graph G with N kernel nodes
//   sleep MS    sleeps
//   fork        forks a child that exits through exit(0) (atexit handlers run there too);
//               prints child=exited status=N, child=killed signal=N, or child=hung (not gone
//               after 5 s, then killed)
//   sigblk      prints the signal mask of the library's flush thread (thread "gputrace-cupti")
//   _exit       leaves through _exit(0): no atexit handlers, no final flush
// and finally prints host=done and returns from main (atexit handlers run).
#include "load_injection.h"

#include <dirent.h>
#include <dlfcn.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

namespace {

// A "GPU work" function of the stand-in libcupti.
template <class F>
F standin(const char* name) {
  auto f = reinterpret_cast<F>(::dlsym(RTLD_DEFAULT, name));
  if (f == nullptr) {
    std::fprintf(stderr, "injection_host_app: the stand-in libcupti is not preloaded\n");
    std::exit(3);
  }
  return f;
}

void run_kernels(uint32_t n) { standin<void (*)(uint32_t)>("gputrace_standin_cupti_complete_kernels")(n); }

void fork_a_child() {
  const pid_t child = ::fork();
  if (child == 0) std::exit(0);
  for (int i = 0; i < 500; ++i) {
    int status = 0;
    if (::waitpid(child, &status, WNOHANG) == child) {
      if (WIFEXITED(status))
        std::printf("child=exited status=%d pid=%d\n", WEXITSTATUS(status), child);
      else
        std::printf("child=killed signal=%d pid=%d\n", WTERMSIG(status), child);
      return;
    }
    ::usleep(10'000);
  }
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  std::printf("child=hung pid=%d\n", child);
}

// The SigBlk line of the flush thread's /proc status; empty when there is no such thread.
std::string flush_thread_mask() {
  std::string mask;
  DIR* tasks = ::opendir("/proc/self/task");
  while (dirent* t = tasks ? ::readdir(tasks) : nullptr) {
    if (t->d_name[0] == '.') continue;
    const std::string dir = std::string("/proc/self/task/") + t->d_name;
    std::string comm;
    std::getline(std::ifstream(dir + "/comm"), comm);
    if (comm != "gputrace-cupti") continue;
    std::ifstream status(dir + "/status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("SigBlk:", 0) == 0) mask = line.substr(7);
  }
  if (tasks) ::closedir(tasks);
  return mask;
}

void print_flush_thread_mask() {
  // glibc starts a new thread with every signal blocked, its own two (32, 33) included, and
  // sets the mask it was asked for as the thread begins: wait until it has.
  std::string mask = flush_thread_mask();
  for (int i = 0; i < 1000 && !mask.empty() && ((std::stoull(mask, nullptr, 16) >> 31) & 3) == 3; ++i) {
    ::usleep(1000);
    mask = flush_thread_mask();
  }
  std::printf("flush_thread_sigblk=%s\n", mask.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  std::printf("injection=%d\n", gputrace::cupti::testing::load_injection_like_libcuda());
  std::fflush(stdout);
  for (int i = 1; i < argc; ++i) {
    const std::string what = argv[i];
    if (what == "kernels" && i + 1 < argc) {
      run_kernels(static_cast<uint32_t>(std::atoi(argv[++i])));
    } else if (what == "api" && i + 2 < argc) {
      const auto n = static_cast<uint32_t>(std::atoi(argv[++i]));
      standin<void (*)(uint32_t, uint32_t)>("gputrace_standin_cupti_complete_api_calls")(
          n, static_cast<uint32_t>(std::atoi(argv[++i])));
    } else if (what == "overheads" && i + 1 < argc) {
      standin<void (*)(uint32_t)>("gputrace_standin_cupti_complete_overheads")(static_cast<uint32_t>(std::atoi(argv[++i])));
    } else if (what == "bad" && i + 2 < argc) {
      const auto future = static_cast<uint32_t>(std::atoi(argv[++i]));
      standin<void (*)(uint32_t, uint32_t)>("gputrace_standin_cupti_complete_bad_kernels")(
          future, static_cast<uint32_t>(std::atoi(argv[++i])));
    } else if (what == "graph" && i + 2 < argc) {
      const auto graph = static_cast<uint32_t>(std::atoi(argv[++i]));
      standin<void (*)(uint32_t, uint32_t)>("gputrace_standin_cupti_complete_graph")(
          graph, static_cast<uint32_t>(std::atoi(argv[++i])));
    } else if (what == "sleep" && i + 1 < argc) {
      ::usleep(static_cast<useconds_t>(std::atoi(argv[++i])) * 1000);
    } else if (what == "fork") {
      std::fflush(stdout);
      fork_a_child();
    } else if (what == "sigblk") {
      print_flush_thread_mask();
    } else if (what == "_exit") {
      std::fflush(stdout);
      ::_exit(0);
    } else {
      std::fprintf(stderr, "injection_host_app: unknown step %s\n", what.c_str());
      return 2;
    }
    std::fflush(stdout);
  }
  std::printf("host=done\n");
  return 0;
}
