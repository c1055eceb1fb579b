#include "userspace/attach/ptrace_thread.h"

#include "userspace/attach/thread_picker.h"

#include <elf.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace gputrace::attach {
namespace {

// The kernel's internal "restart this call" codes (include/linux/errno.h).
constexpr long kRestartSys = 512, kRestartNoIntr = 513, kRestartNoHand = 514, kRestartBlock = 516;

}  // namespace

user_regs_struct restarted(const user_regs_struct& at) {
  user_regs_struct r = at;
  const auto nr = static_cast<long>(at.orig_rax);
  const auto ret = static_cast<long>(at.rax);
  if (nr >= 0) {
    if (ret == -kRestartSys || ret == -kRestartNoIntr || ret == -kRestartNoHand) {
      r.rax = at.orig_rax;
      r.rip -= 2;
    } else if (ret == -kRestartBlock) {
      // restart_syscall resumes with what is left of a relative timeout, unless a signal
      // frame was returned through since (the attach trampoline does), which makes it fail
      // with EINTR: a call with an absolute timeout is issued again as it was instead.
      const std::array<uint64_t, 6> args{at.rdi, at.rsi, at.rdx, at.r10, at.r8, at.r9};
      r.rax = waits_relative_timeout(nr, args) ? SYS_restart_syscall : at.orig_rax;
      r.rip -= 2;
    } else if (ret == -EINTR && returns_eintr_when_stopped(nr)) {
      // Stopped in a call that fails with EINTR on a stop: the thread entered it after it was
      // chosen. Issue it again rather than hand the application an EINTR it did not cause.
      r.rax = at.orig_rax;
      r.rip -= 2;
    }
  }
  r.orig_rax = static_cast<unsigned long long>(-1);
  return r;
}

Result<PtraceThread> PtraceThread::seize(pid_t tid) {
  if (::ptrace(PTRACE_SEIZE, tid, nullptr, PTRACE_O_TRACESYSGOOD) != 0)
    return fail_errno(errno, "ptrace(PTRACE_SEIZE) of thread {} failed", tid);
  return PtraceThread(tid);
}

PtraceThread::PtraceThread(PtraceThread&& o) noexcept
    : tid_(std::exchange(o.tid_, -1)), stop_(o.stop_), original_(o.original_), have_original_(o.have_original_) {}

PtraceThread::~PtraceThread() {
  if (tid_ < 0) return;
  if (stop_.kind == StopKind::None || stop_.kind == StopKind::Exited) {
    // Seized but never stopped (or gone): detaching needs a stop; the kernel lets a tracee
    // go when its tracer exits, and PTRACE_INTERRUPT + release would be the same here.
    if (stop_.kind == StopKind::None && interrupt(std::chrono::milliseconds(1000))) {
      (void)release(stop_.kind == StopKind::Signal ? stop_.signal : 0);
    }
    tid_ = -1;
    return;
  }
  (void)release(stop_.kind == StopKind::Signal ? stop_.signal : 0);
}

Result<Stop> PtraceThread::wait_stop(std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  int status = 0;
  for (;;) {
    const pid_t r = ::waitpid(tid_, &status, __WALL | WNOHANG);
    if (r == tid_) break;
    if (r < 0 && errno != EINTR) return fail_errno(errno, "waiting for thread {} to stop", tid_);
    if (std::chrono::steady_clock::now() >= end) return fail("thread {} did not stop within {} ms", tid_, limit.count());
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  Stop s;
  if (WIFEXITED(status) || WIFSIGNALED(status)) {
    s.kind = StopKind::Exited;
  } else if (WSTOPSIG(status) == (SIGTRAP | 0x80)) {
    __ptrace_syscall_info info{};
    ::ptrace(PTRACE_GET_SYSCALL_INFO, tid_, sizeof(info), &info);
    s.kind = info.op == PTRACE_SYSCALL_INFO_EXIT ? StopKind::SyscallExit : StopKind::SyscallEntry;
  } else if ((status >> 16) == PTRACE_EVENT_STOP) {
    const int sig = WSTOPSIG(status);
    s.kind = sig == SIGTRAP ? StopKind::Interrupt : StopKind::GroupStop;
    s.signal = sig == SIGTRAP ? 0 : sig;
  } else {
    s.kind = StopKind::Signal;
    s.signal = WSTOPSIG(status);
  }
  stop_ = s;
  if (s.kind == StopKind::Exited) tid_ = -1;  // nothing left to release
  return s;
}

Result<Stop> PtraceThread::interrupt(std::chrono::milliseconds limit) {
  if (::ptrace(PTRACE_INTERRUPT, tid_, nullptr, nullptr) != 0)
    return fail_errno(errno, "ptrace(PTRACE_INTERRUPT) of thread {} failed", tid_);
  return wait_stop(limit);
}

Result<user_regs_struct> PtraceThread::registers() const {
  user_regs_struct r{};
  iovec iov{&r, sizeof(r)};
  if (::ptrace(PTRACE_GETREGSET, tid_, NT_PRSTATUS, &iov) != 0)
    return fail_errno(errno, "cannot read the registers of thread {}", tid_);
  return r;
}

Result<void> PtraceThread::set_registers(const user_regs_struct& r) {
  iovec iov{const_cast<user_regs_struct*>(&r), sizeof(r)};
  if (::ptrace(PTRACE_SETREGSET, tid_, NT_PRSTATUS, &iov) != 0)
    return fail_errno(errno, "cannot set the registers of thread {}", tid_);
  return {};
}

Result<std::vector<std::byte>> PtraceThread::xstate() const {
  std::vector<std::byte> buf(64 * 1024);
  iovec iov{buf.data(), buf.size()};
  if (::ptrace(PTRACE_GETREGSET, tid_, NT_X86_XSTATE, &iov) != 0)
    return fail_errno(errno, "cannot read the FPU state of thread {}", tid_);
  buf.resize(iov.iov_len);
  return buf;
}

Result<uint64_t> PtraceThread::signal_mask() const {
  uint64_t mask = 0;
  if (::ptrace(PTRACE_GETSIGMASK, tid_, sizeof(mask), &mask) != 0)
    return fail_errno(errno, "cannot read the signal mask of thread {}", tid_);
  return mask;
}

Result<void> PtraceThread::set_signal_mask(uint64_t mask) {
  if (::ptrace(PTRACE_SETSIGMASK, tid_, sizeof(mask), &mask) != 0)
    return fail_errno(errno, "cannot set the signal mask of thread {}", tid_);
  return {};
}

Result<long> PtraceThread::syscall(uint64_t insn, long nr, std::array<uint64_t, 6> args,
                                   std::chrono::milliseconds limit) {
  auto at = registers();
  if (!at) return tl::unexpected(at.error());
  user_regs_struct r = *at;
  r.rip = insn;
  r.rax = static_cast<unsigned long long>(nr);
  r.orig_rax = static_cast<unsigned long long>(-1);  // no restart of whatever the thread was in
  r.rdi = args[0], r.rsi = args[1], r.rdx = args[2], r.r10 = args[3], r.r8 = args[4], r.r9 = args[5];
  if (auto s = set_registers(r); !s) return tl::unexpected(s.error());
  for (StopKind expect : {StopKind::SyscallEntry, StopKind::SyscallExit}) {
    if (::ptrace(PTRACE_SYSCALL, tid_, nullptr, nullptr) != 0)
      return fail_errno(errno, "ptrace(PTRACE_SYSCALL) of thread {} failed", tid_);
    auto stop = wait_stop(limit);
    if (!stop) return tl::unexpected(stop.error());
    if (stop->kind != expect)
      return fail("thread {} was interrupted while running a system call for gputrace (stop {}, signal {})", tid_,
                  static_cast<int>(stop->kind), stop->signal);
  }
  auto after = registers();
  if (!after) return tl::unexpected(after.error());
  return static_cast<long>(after->rax);
}

Result<void> PtraceThread::detach(int signal) {
  const pid_t tid = std::exchange(tid_, -1);
  if (::ptrace(PTRACE_DETACH, tid, nullptr, signal) != 0)
    return fail_errno(errno, "ptrace(PTRACE_DETACH) of thread {} failed", tid);
  return {};
}

Result<void> PtraceThread::release(int signal) {
  if (tid_ < 0) return {};
  if (have_original_) {
    // At a signal, interrupt or group stop the kernel restarts the call on the way out; at a
    // syscall stop (after one of gputrace's own calls) it no longer will.
    bool kernel_restarts = stop_.kind == StopKind::Interrupt || stop_.kind == StopKind::Signal ||
                           stop_.kind == StopKind::GroupStop;
    // Except an EINTR the stop itself caused (epoll_wait entered after the thread was chosen):
    // the call is issued again instead.
    if (static_cast<long>(original_.rax) == -EINTR && returns_eintr_when_stopped(static_cast<long>(original_.orig_rax)))
      kernel_restarts = false;
    if (auto s = set_registers(kernel_restarts ? original_ : restarted(original_)); !s) {
      (void)detach(signal);
      return s;
    }
  }
  return detach(signal);
}

Result<void> PtraceThread::release_into(const user_regs_struct& r) {
  if (auto s = set_registers(r); !s) {
    (void)release();
    return s;
  }
  return detach(0);
}

Result<void> read_memory(pid_t pid, uint64_t address, void* out, size_t size) {
  iovec local{out, size}, remote{reinterpret_cast<void*>(address), size};
  const ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n != static_cast<ssize_t>(size)) return fail_errno(n < 0 ? errno : EIO, "cannot read {} bytes of process {} at {:#x}", size, pid, address);
  return {};
}

Result<void> write_memory(pid_t pid, uint64_t address, const void* data, size_t size) {
  iovec local{const_cast<void*>(data), size}, remote{reinterpret_cast<void*>(address), size};
  const ssize_t n = ::process_vm_writev(pid, &local, 1, &remote, 1, 0);
  if (n != static_cast<ssize_t>(size)) return fail_errno(n < 0 ? errno : EIO, "cannot write {} bytes into process {} at {:#x}", size, pid, address);
  return {};
}

}  // namespace gputrace::attach
