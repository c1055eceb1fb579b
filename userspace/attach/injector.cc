#include "userspace/attach/injector.h"

#include "userspace/attach/proc_facts.h"
#include "userspace/attach/ptrace_permission.h"
#include "userspace/attach/ptrace_thread.h"
#include "userspace/attach/target_library.h"
#include "userspace/attach/thread_hijack.h"
#include "userspace/attach/thread_picker.h"
#include "userspace/util/fd.h"
#include "userspace/util/log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <cstring>
#include <fstream>
#include <thread>

namespace gputrace::attach {
namespace {

using namespace std::chrono_literals;

constexpr int kPickRounds = 5;

// One attach at a time on this host: the region's block is shared by every attach of a process.
Result<Fd> lock_attaches() {
  ::mkdir("/run/gputrace", 0755);
  Fd fd(::open("/run/gputrace/attach.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (!fd.valid()) return fail_errno(errno, "cannot open /run/gputrace/attach.lock");
  for (int i = 0; i < 600; ++i) {
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) == 0) return fd;
    std::this_thread::sleep_for(50ms);
  }
  return fail("another gputrace has held /run/gputrace/attach.lock for 30 s");
}

Result<void> refuse_unattachable(pid_t pid, const ProcessFacts& p) {
  if (p.state == 'Z' || p.state == 'X') return fail("process {} ({}) has exited", pid, p.comm);
  if (p.tracer != 0)
    return fail("process {} ({}) is already traced by process {} (a debugger or strace?): a thread has one tracer at "
                "a time",
                pid, p.comm, p.tracer);
  if (p.state == 'T' || p.state == 't')
    return fail("process {} ({}) is stopped: continue it first (kill -CONT {})", pid, p.comm, pid);
  return {};
}

Result<void> refuse_unsafe(pid_t pid, const ProcessFacts& p) {
  if (p.shadow_stack)
    return fail("process {} ({}) uses shadow stacks (x86 user shadow stack): gputrace cannot return its thread "
                "safely from the attach code, so it does not attach",
                pid, p.comm);
  if (p.seccomp == 1)
    return fail("process {} ({}) runs in strict seccomp mode, which allows no system call attaching needs", pid,
                p.comm);
  return {};
}

// vm.memfd_noexec (Linux 6.3+): 1 makes memfds non-executable unless asked (MFD_EXEC), 2
// refuses executable ones outright, so a memfd copy of the library could not be mapped.
constexpr unsigned kMfdExec = 0x10;  // MFD_EXEC, newer than glibc 2.36's headers
Result<unsigned> memfd_exec_flags() {
  std::ifstream f("/proc/sys/vm/memfd_noexec");
  int mode = 0;
  if (!(f >> mode) || mode == 0) return 0u;
  if (mode == 1) return kMfdExec;
  return fail("vm.memfd_noexec is {}: memfds cannot hold executable code here, so the process cannot load a copy "
              "of the library; make gputrace's library visible at the same path in its mount namespace (a bind mount)",
              mode);
}

uint64_t fresh_seq() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// While gputrace holds a thread, its registers are gputrace's: a signal that would end
// gputrace (a closed terminal's SIGHUP, Ctrl-\, Ctrl-Z) waits until the thread is let go.
class DeferStopSignals {
 public:
  DeferStopSignals() {
    sigset_t s;
    sigemptyset(&s);
    for (int sig : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGTSTP}) sigaddset(&s, sig);
    pthread_sigmask(SIG_BLOCK, &s, &old_);
  }
  ~DeferStopSignals() { pthread_sigmask(SIG_SETMASK, &old_, nullptr); }
  DeferStopSignals(const DeferStopSignals&) = delete;
  DeferStopSignals& operator=(const DeferStopSignals&) = delete;

 private:
  sigset_t old_;
};

// Stops one idle thread long enough to start the helper; tries the idle ones in turn, and
// looks again a few times when none is idle.
Result<HijackResult> start_helper(HijackPlan& plan, pid_t& chosen) {
  std::string busy;
  for (int round = 0; round < kPickRounds; ++round) {
    std::vector<ThreadChoice> others;
    auto idle = pick_idle_threads(plan.pid, others);
    if (!idle) return tl::unexpected(idle.error());
    for (const ThreadChoice& c : *idle) {
      plan.thread = c.thread;
      auto done = [&] {
        DeferStopSignals deferred;
        return hijack_thread(plan);
      }();
      if (done) {
        chosen = c.thread.tid;
        return *done;
      }
      if (!done.error().try_another_thread) return tl::unexpected(done.error().error);
      log_v1("attach: {}", done.error().error.describe());
      others.push_back({c.thread, ThreadVerdict::Moving, "woke up while gputrace looked"});
    }
    busy = summarize_busy(others);
    std::this_thread::sleep_for(100ms);
  }
  return fail("no thread of process {} could be stopped safely ({}): gputrace stops only a thread that is idle in a "
              "system call the kernel restarts by itself, so that it holds none of libc's locks. Try again when the "
              "process is less busy",
              plan.pid, busy);
}

// Reads the block until the helper answers (or the time is up).
Result<Injection> await_helper(pid_t pid, uint64_t block_at, uint64_t seq, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  gt_attach_block b{};
  for (;;) {
    if (auto r = read_memory(pid, block_at, &b, sizeof(b)); !r)
      return fail("process {} went away while the library was loading ({})", pid, r.error().describe());
    if (b.seq != seq) return fail("another attach to process {} overwrote this one's block", pid);
    const auto rc = static_cast<int32_t>(b.create_rc & 0xffffffff);
    if (rc != GT_ATTACH_PENDING && rc != 0)
      return fail("pthread_create failed in process {} ({}): nothing was loaded", pid, std::strerror(rc));
    if (b.stage >= GT_ATTACH_STAGE_DONE) break;
    if (std::chrono::steady_clock::now() >= end)
      return fail("the library did not answer within {} s (stage {}): it may still be loading in process {}",
                  limit.count() / 1000, b.stage, pid);
    std::this_thread::sleep_for(2ms);
  }
  b.error[sizeof(b.error) - 1] = '\0';
  if (b.stage == GT_ATTACH_STAGE_DLOPEN_FAILED)
    return fail("process {} could not load the library: {}", pid, b.error);
  if (b.stage == GT_ATTACH_STAGE_DLSYM_FAILED)
    return fail("process {} loaded a library without {}: {}", pid, GT_ATTACH_ENTRY_SYMBOL, b.error);
  const gt_attach_args& a = b.args;
  if (a.answered_seq != seq) return fail("the library in process {} did not understand the attach request", pid);
  Injection in;
  in.started_now = true;
  in.state = static_cast<gt_gpu_state>(a.state);
  in.cupti_result = a.cupti_result;
  in.holder = std::string(a.holder, strnlen(a.holder, sizeof(a.holder)));
  in.message = std::string(a.message, strnlen(a.message, sizeof(a.message)));
  in.control = std::string(a.control, strnlen(a.control, sizeof(a.control)));
  return in;
}

}  // namespace

bool process_sees_file(pid_t pid, const std::string& path) {
  struct stat ours {}, theirs {};
  if (::stat(path.c_str(), &ours) != 0) return false;
  if (::stat(fmt::format("/proc/{}/root{}", pid, path).c_str(), &theirs) != 0) return false;
  return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

Result<Injection> bring_in_library(pid_t pid, const AttachSettings& settings) {
  auto facts = read_process(pid);
  if (!facts) {
    if (facts.error().errnum == ENOENT || facts.error().errnum == ESRCH) return fail("there is no process {}", pid);
    return tl::unexpected(facts.error());
  }
  if (auto r = refuse_unattachable(pid, *facts); !r) return tl::unexpected(r.error());
  // The same check ptrace makes, before anything is touched.
  if (auto threads = read_threads(pid); !threads) {
    const int e = threads.error().errnum;
    if (e == EACCES || e == EPERM) return tl::unexpected(Error{explain_ptrace_refusal(e, ptrace_context(pid), pid), 0});  // errno said in it
    return tl::unexpected(threads.error());
  }
  auto maps = read_maps(pid);
  if (!maps) return tl::unexpected(maps.error());
  if (find_library(*maps, "libcuda.so") == nullptr)
    return fail("process {} ({}) has no CUDA driver loaded (libcuda.so is not mapped): it does not use a GPU, or has "
                "not initialised CUDA yet, so there is nothing to trace",
                pid, facts->comm);
  auto loaded = find_loaded_library(pid, *maps, settings.library);
  if (!loaded) return tl::unexpected(loaded.error());
  HijackPlan plan;
  plan.pid = pid;
  if (*loaded) {
    const LoadedLibrary& lib = **loaded;
    if (!lib.same_build)
      return fail("process {} has another build of libgputrace_cupti.so loaded ({}): attach with the gputrace it came "
                  "from, or restart the process",
                  pid, lib.mapping.path);
    Injection found;
    found.found = static_cast<gt_attach_mode>(lib.info.mode);
    if (found.found == GT_ATTACH_MODE_ATTACHED) {
      found.control = std::string(lib.info.control, strnlen(lib.info.control, sizeof(lib.info.control)));
      found.message = "already attached";
      return found;
    }
    if (found.found == GT_ATTACH_MODE_STARTUP) {
      found.message = "traced since it started (CUDA_INJECTION64_PATH): it announces itself to every new tracer";
      return found;
    }
    plan.entry = lib.entry;  // inert: start it again, no second copy
    plan.region = lib.info.region;
  }
  if (auto r = refuse_unsafe(pid, *facts); !r) return tl::unexpected(r.error());
  auto libc = find_libc_functions(pid, *maps);
  if (!libc) return tl::unexpected(libc.error());
  plan.libc = *libc;
  plan.check_seccomp = facts->seccomp == 2;
  if (plan.entry == 0) {
    if (process_sees_file(pid, settings.library))
      plan.dlopen_path = settings.library;
    else
      plan.memfd_source = settings.library;  // another mount namespace: a copy it can open
  }
  if (!plan.memfd_source.empty()) {
    auto flags = memfd_exec_flags();
    if (!flags) return tl::unexpected(flags.error());
    plan.memfd_flags = *flags;
  }
  const uint64_t seq = fresh_seq();
  plan.block.seq = seq;
  gt_attach_args& a = plan.block.args;
  a.magic = GT_ATTACH_MAGIC;
  a.abi = GT_ATTACH_ABI;
  a.size = sizeof(gt_attach_args);
  a.seq = seq;
  a.lease_grace_ms = static_cast<uint32_t>(settings.lease_grace.count());
  a.tracer_pid = static_cast<uint32_t>(::getpid());
  std::snprintf(a.options, sizeof(a.options), "%s", settings.options.c_str());
  auto lock = lock_attaches();
  if (!lock) return tl::unexpected(lock.error());
  pid_t chosen = 0;
  auto started = start_helper(plan, chosen);
  if (!started) return tl::unexpected(started.error());
  auto in = await_helper(pid, started->region + kBlockOffset, seq, settings.answer_limit);
  if (!in) return in;
  in->found = GT_ATTACH_MODE_INERT;
  in->loaded_as = plan.entry ? "" : (plan.memfd_source.empty() ? plan.dlopen_path : "a memfd copy");
  in->stopped_tid = chosen;
  in->stopped = started->stopped;
  return in;
}

}  // namespace gputrace::attach
