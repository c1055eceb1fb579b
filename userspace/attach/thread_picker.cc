#include "userspace/attach/thread_picker.h"

#include <fmt/format.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <thread>

namespace gputrace::attach {
namespace {

struct SyscallInfo {
  const char* name;
  enum { Restarts, Eintr, Socketish, Other } kind;
};

// The calls idle threads block in, and how each takes a ptrace stop.
const std::map<long, SyscallInfo>& known_syscalls() {
  static const std::map<long, SyscallInfo> t = {
      {SYS_read, {"read", SyscallInfo::Socketish}},
      {SYS_readv, {"readv", SyscallInfo::Socketish}},
      {SYS_pread64, {"pread64", SyscallInfo::Restarts}},
      {SYS_poll, {"poll", SyscallInfo::Restarts}},
      {SYS_ppoll, {"ppoll", SyscallInfo::Restarts}},
      {SYS_select, {"select", SyscallInfo::Restarts}},
      {SYS_pselect6, {"pselect6", SyscallInfo::Restarts}},
      {SYS_nanosleep, {"nanosleep", SyscallInfo::Restarts}},
      {SYS_clock_nanosleep, {"clock_nanosleep", SyscallInfo::Restarts}},
      {SYS_pause, {"pause", SyscallInfo::Restarts}},
      {SYS_rt_sigsuspend, {"rt_sigsuspend", SyscallInfo::Restarts}},
      {SYS_wait4, {"wait4", SyscallInfo::Restarts}},
      {SYS_waitid, {"waitid", SyscallInfo::Restarts}},
      {SYS_futex, {"futex", SyscallInfo::Restarts}},
#ifdef SYS_futex_waitv
      {SYS_futex_waitv, {"futex_waitv", SyscallInfo::Restarts}},
#endif
      {SYS_epoll_wait, {"epoll_wait", SyscallInfo::Eintr}},
      {SYS_epoll_pwait, {"epoll_pwait", SyscallInfo::Eintr}},
#ifdef SYS_epoll_pwait2
      {SYS_epoll_pwait2, {"epoll_pwait2", SyscallInfo::Eintr}},
#endif
      {SYS_semop, {"semop", SyscallInfo::Eintr}},
      {SYS_semtimedop, {"semtimedop", SyscallInfo::Eintr}},
      {SYS_msgrcv, {"msgrcv", SyscallInfo::Eintr}},
      {SYS_msgsnd, {"msgsnd", SyscallInfo::Eintr}},
      {SYS_rt_sigtimedwait, {"rt_sigtimedwait", SyscallInfo::Eintr}},
      {SYS_io_getevents, {"io_getevents", SyscallInfo::Eintr}},
      {SYS_io_pgetevents, {"io_pgetevents", SyscallInfo::Eintr}},
      {SYS_io_uring_enter, {"io_uring_enter", SyscallInfo::Eintr}},
      {SYS_accept, {"accept", SyscallInfo::Eintr}},  // EINTR with SO_RCVTIMEO, which cannot be seen from here
      {SYS_accept4, {"accept4", SyscallInfo::Eintr}},
      {SYS_recvfrom, {"recvfrom", SyscallInfo::Eintr}},
      {SYS_recvmsg, {"recvmsg", SyscallInfo::Eintr}},
      {SYS_recvmmsg, {"recvmmsg", SyscallInfo::Eintr}},
      {SYS_sendto, {"sendto", SyscallInfo::Eintr}},
      {SYS_sendmsg, {"sendmsg", SyscallInfo::Eintr}},
      {SYS_connect, {"connect", SyscallInfo::Eintr}},
      {SYS_mmap, {"mmap", SyscallInfo::Other}},
      {SYS_munmap, {"munmap", SyscallInfo::Other}},
      {SYS_mprotect, {"mprotect", SyscallInfo::Other}},
      {SYS_openat, {"openat", SyscallInfo::Other}},
      {SYS_write, {"write", SyscallInfo::Other}},
  };
  return t;
}

bool in_ranges(const std::vector<Mapping>& maps, uint64_t a) {
  return std::any_of(maps.begin(), maps.end(), [&](const Mapping& m) { return a >= m.start && a < m.end; });
}

// Lower is better: other threads before the main one (it runs the event loop more often),
// condition waits and sleeps before reads.
int preference(const ThreadChoice& c, pid_t pid) {
  int score = c.thread.tid == pid ? 10 : 0;
  if (c.thread.syscall.nr == SYS_read || c.thread.syscall.nr == SYS_readv) score += 1;
  return score;
}

}  // namespace

std::string syscall_name(long nr) {
  const auto& t = known_syscalls();
  if (auto it = t.find(nr); it != t.end()) return it->second.name;
  return fmt::format("syscall {}", nr);
}

bool restarts_transparently(long nr) {
  const auto& t = known_syscalls();
  auto it = t.find(nr);
  return it != t.end() && (it->second.kind == SyscallInfo::Restarts || it->second.kind == SyscallInfo::Socketish);
}

bool returns_eintr_when_stopped(long nr) {
  const auto& t = known_syscalls();
  auto it = t.find(nr);
  return it != t.end() && it->second.kind == SyscallInfo::Eintr;
}

bool waits_relative_timeout(long nr, const std::array<uint64_t, 6>& a) {
  switch (nr) {
    case SYS_nanosleep: return true;
    case SYS_clock_nanosleep: return (a[1] & TIMER_ABSTIME) == 0;
    case SYS_poll: return static_cast<int>(a[2]) >= 0;
    case SYS_ppoll: return a[2] != 0;
    case SYS_select:
    case SYS_pselect6: return a[4] != 0;
    case SYS_futex: return (static_cast<int>(a[1]) & FUTEX_CMD_MASK) == FUTEX_WAIT && a[3] != 0;
    default: return false;
  }
}

bool fd_is_socket(pid_t pid, int fd) {
  char link[64] = {};
  const std::string path = fmt::format("/proc/{}/fd/{}", pid, fd);
  const ssize_t n = ::readlink(path.c_str(), link, sizeof(link) - 1);
  return n > 0 && std::string_view(link, static_cast<size_t>(n)).rfind("socket:", 0) == 0;
}

ThreadChoice judge_thread(const ThreadFacts& t, uint64_t process_pending, const std::vector<Mapping>& libc_maps,
                          bool (*is_socket)(pid_t, int), pid_t pid) {
  ThreadChoice c{t, ThreadVerdict::Idle, {}};
  const ThreadSyscall& s = t.syscall;
  const auto verdict = [&](ThreadVerdict v, std::string why) {
    c.verdict = v;
    c.why = std::move(why);
    return c;
  };
  if (s.running || t.state == 'R') return verdict(ThreadVerdict::Running, "running");
  if (s.nr < 0 || t.state == 'T' || t.state == 't' || t.state == 'Z' || t.state == 'X')
    return verdict(ThreadVerdict::NotInSyscall, "not blocked in a system call");
  if ((t.pending_signals | process_pending) & ~t.blocked_signals)
    return verdict(ThreadVerdict::SignalPending, "about to handle a signal");
  const std::string name = syscall_name(s.nr);
  if (returns_eintr_when_stopped(s.nr))
    return verdict(ThreadVerdict::MustNotInterrupt, fmt::format("in {}, which returns EINTR to a stopped thread", name));
  if (!restarts_transparently(s.nr))
    return verdict(ThreadVerdict::OtherSyscall, fmt::format("in {}", name));
  if (waits_relative_timeout(s.nr, s.args))
    return verdict(ThreadVerdict::TimedWait, fmt::format("in {} with a timeout", name));
  // The kernel keeps the real mask aside while these wait; setting the mask of the stopped
  // thread drops what it kept aside.
  if (s.nr == SYS_rt_sigsuspend || (s.nr == SYS_ppoll && s.args[3] != 0) || (s.nr == SYS_pselect6 && s.args[5] != 0))
    return verdict(ThreadVerdict::TemporaryMask, fmt::format("in {} with a signal mask of its own", name));
  if ((s.nr == SYS_read || s.nr == SYS_readv) && is_socket(pid, static_cast<int>(s.args[0])))
    return verdict(ThreadVerdict::Socket, "reading a socket (which may have a receive timeout)");
  if (s.nr == SYS_futex) {
    const int op = static_cast<int>(s.args[1]) & FUTEX_CMD_MASK;
    if (op != FUTEX_WAIT && op != FUTEX_WAIT_BITSET)
      return verdict(ThreadVerdict::OtherSyscall, fmt::format("in futex op {}", op));
    // malloc's main arena, the loader's and stdio's locks live in libc's and ld.so's data.
    if (in_ranges(libc_maps, s.args[0])) return verdict(ThreadVerdict::LibcLockWait, "waiting for a lock of libc");
  }
  return c;
}

Result<std::vector<ThreadChoice>> pick_idle_threads(pid_t pid, std::vector<ThreadChoice>& others, unsigned gap_ms) {
  auto process = read_process(pid);
  if (!process) return tl::unexpected(process.error());
  auto maps = read_maps(pid);
  if (!maps) return tl::unexpected(maps.error());
  std::vector<Mapping> libc_maps;
  for (const Mapping& m : *maps) {
    const size_t slash = m.path.rfind('/');
    const std::string base = slash == std::string::npos ? "" : m.path.substr(slash + 1);
    if (base.rfind("libc.so", 0) == 0 || base.rfind("ld-linux", 0) == 0 || base.rfind("libpthread", 0) == 0)
      libc_maps.push_back(m);
  }
  auto first = read_threads(pid);
  if (!first) return tl::unexpected(first.error());
  std::this_thread::sleep_for(std::chrono::milliseconds(gap_ms));
  std::vector<ThreadChoice> idle;
  others.clear();
  for (const ThreadFacts& before : *first) {
    ThreadChoice c = judge_thread(before, process->shared_pending_signals, libc_maps, fd_is_socket, pid);
    if (c.verdict == ThreadVerdict::Idle) {
      auto after = read_thread(pid, before.tid);
      if (!after || !(after->syscall == before.syscall) || after->voluntary_switches != before.voluntary_switches ||
          after->involuntary_switches != before.involuntary_switches)
        c = {before, ThreadVerdict::Moving, "woke up while gputrace looked"};
      else
        c = judge_thread(*after, process->shared_pending_signals, libc_maps, fd_is_socket, pid);
    }
    (c.verdict == ThreadVerdict::Idle ? idle : others).push_back(std::move(c));
  }
  std::stable_sort(idle.begin(), idle.end(),
                   [&](const ThreadChoice& a, const ThreadChoice& b) { return preference(a, pid) < preference(b, pid); });
  return idle;
}

std::string summarize_busy(const std::vector<ThreadChoice>& others) {
  std::map<std::string, int> counts;
  for (const ThreadChoice& c : others) ++counts[c.why];
  std::string out = fmt::format("{} thread{} busy:", others.size(), others.size() == 1 ? " is" : "s are");
  bool first = true;
  for (const auto& [why, n] : counts) {
    out += fmt::format("{} {} {}", first ? "" : ",", n, why);
    first = false;
  }
  return out;
}

}  // namespace gputrace::attach
