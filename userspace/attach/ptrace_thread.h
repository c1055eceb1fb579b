// PtraceThread: one thread of another process held with ptrace (PTRACE_SEIZE, then
// PTRACE_INTERRUPT, never PTRACE_ATTACH's SIGSTOP): its registers and FPU state, and system
// calls run on it. Only that thread stops; the others run on.
//
// Letting it go is the delicate part. Stopped while blocked in a system call, the thread
// holds the kernel's "restart me" code in rax (-ERESTARTSYS and friends). At a signal or
// interrupt stop the kernel still acts on it when the thread goes on; at a syscall stop it no
// longer does, so the restart is done by hand (rip back over the syscall instruction, rax the
// call's number again). release() picks the right one for the stop the thread is in, and the
// destructor releases a thread still held, so every error path gives the thread back.
#pragma once

#include "userspace/util/result.h"

#include <sys/types.h>
#include <sys/user.h>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace gputrace::attach {

enum class StopKind { None, Interrupt, GroupStop, SyscallEntry, SyscallExit, Signal, Exited };

struct Stop {
  StopKind kind = StopKind::None;
  int signal = 0;  // Signal, GroupStop: the signal
};

// The registers that let a thread go on from a stop as if it had never stopped, when the
// kernel will not restart its system call itself (see above). orig_rax is set to -1 so the
// kernel does nothing more.
user_regs_struct restarted(const user_regs_struct& at_interrupt);

class PtraceThread {
 public:
  static Result<PtraceThread> seize(pid_t tid);
  PtraceThread(PtraceThread&& o) noexcept;
  PtraceThread& operator=(PtraceThread&&) = delete;
  PtraceThread(const PtraceThread&) = delete;
  ~PtraceThread();

  pid_t tid() const { return tid_; }

  // Stops the thread. Its first stop is returned, whatever it is: a signal arriving at the
  // same moment comes first, and the caller then lets the thread go (release()).
  Result<Stop> interrupt(std::chrono::milliseconds limit);

  Result<user_regs_struct> registers() const;
  Result<void> set_registers(const user_regs_struct& r);
  // PTRACE_GETREGSET NT_X86_XSTATE: the XSAVE image of the FPU and vector registers.
  Result<std::vector<std::byte>> xstate() const;
  // The thread's blocked signals, read and set while it is stopped (PTRACE_GETSIGMASK,
  // PTRACE_SETSIGMASK): set before it runs anything for gputrace, no signal can be taken on
  // the way (a signal for the process goes to another thread, or waits).
  Result<uint64_t> signal_mask() const;
  Result<void> set_signal_mask(uint64_t mask);

  // Runs system call nr on the thread from its current stop, executing the syscall
  // instruction at `insn`. Returns what the call returned (-errno when it failed). A stop
  // other than the call's own (a signal, the process stopping or dying) is an error: the
  // caller gives up and releases the thread.
  Result<long> syscall(uint64_t insn, long nr, std::array<uint64_t, 6> args, std::chrono::milliseconds limit);

  // The registers the thread had when it stopped (what release() restores).
  void remember_original(const user_regs_struct& r) { original_ = r, have_original_ = true; }

  // Lets the thread go with its original registers, restarting its system call as the stop
  // requires; `signal` is delivered to it (a signal-delivery stop's own signal).
  Result<void> release(int signal = 0);
  // Lets the thread go with these registers instead (into the trampoline).
  Result<void> release_into(const user_regs_struct& r);

  const Stop& last_stop() const { return stop_; }

 private:
  explicit PtraceThread(pid_t tid) : tid_(tid) {}
  Result<Stop> wait_stop(std::chrono::milliseconds limit);
  Result<void> detach(int signal);

  pid_t tid_ = -1;  // -1: released
  Stop stop_;
  user_regs_struct original_{};
  bool have_original_ = false;
};

// A thread's memory, by address (process_vm_readv/writev: page protections apply).
Result<void> read_memory(pid_t pid, uint64_t address, void* out, size_t size);
Result<void> write_memory(pid_t pid, uint64_t address, const void* data, size_t size);

}  // namespace gputrace::attach
