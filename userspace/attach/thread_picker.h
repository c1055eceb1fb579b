// ThreadPicker: chooses the thread of a running process that gputrace may stop for a moment
// without the process noticing. The stopped thread is made to call pthread_create, so it must
// hold no lock that call needs (malloc's, the dynamic loader's): it must be idle, blocked for a
// while in a system call that applications block in while holding none of libc's locks. And
// the kernel must restart that call by itself when the thread goes on: epoll_wait, semop,
// sigtimedwait and socket calls with timeouts return EINTR instead (signal(7), "Interruption
// of system calls by stop signals"), so a thread in one of those is never stopped.
#pragma once

#include "userspace/attach/proc_facts.h"

#include <string>
#include <vector>

namespace gputrace::attach {

enum class ThreadVerdict {
  Idle,              // may be stopped
  Running,           // busy in user space: could be inside malloc
  NotInSyscall,      // blocked elsewhere (a page fault, stopped)
  MustNotInterrupt,  // its system call would fail with EINTR
  TimedWait,         // a relative timeout: going back through the trampoline loses what is left
  TemporaryMask,     // waits with a signal mask of its own (ppoll, pselect, sigsuspend), which a
                     // stop would leave in place of the thread's real one
  LibcLockWait,      // waiting for one of libc's or the loader's own locks
  Socket,            // reading a socket, which may have a receive timeout
  OtherSyscall,      // a call libc may make with a lock held (mmap, openat, ...)
  SignalPending,     // a signal is about to be delivered to it
  Moving,            // woke up between two looks
};

struct ThreadChoice {
  ThreadFacts thread;
  ThreadVerdict verdict = ThreadVerdict::Idle;
  std::string why;  // for messages: "in epoll_wait, which returns EINTR when the thread is stopped"
};

// x86-64 system call name, for messages ("syscall 299" when unknown).
std::string syscall_name(long nr);
bool restarts_transparently(long nr);   // the kernel restarts it after a ptrace stop
bool returns_eintr_when_stopped(long nr);
// Whether the call waits with a relative timeout: the kernel restarts such a call with what
// is left of it (restart_syscall), but only until a signal handler returns, and the attach
// trampoline returns like one. Absolute timeouts (FUTEX_WAIT_BITSET, TIMER_ABSTIME) and
// calls without a timeout are issued again as they were.
bool waits_relative_timeout(long nr, const std::array<uint64_t, 6>& args);

// Judges one thread from one look. libc_data: the address ranges of libc's and ld.so's
// mappings (their locks live there). fd_is_socket: whether a descriptor of the process is one.
ThreadChoice judge_thread(const ThreadFacts& t, uint64_t process_pending_signals,
                          const std::vector<Mapping>& libc_maps, bool (*fd_is_socket)(pid_t, int), pid_t pid);

// Two looks `gap` apart: the threads that were idle both times, unchanged (same call, same
// arguments, no context switch between), best first; `others` gets every other thread's
// verdict. Fails only when the process cannot be read.
Result<std::vector<ThreadChoice>> pick_idle_threads(pid_t pid, std::vector<ThreadChoice>& others,
                                                    unsigned gap_ms = 20);

// One line on why no thread was chosen: "its 4 threads are busy: 2 running, 1 in epoll_wait
// (would return EINTR to it), 1 reading a socket".
std::string summarize_busy(const std::vector<ThreadChoice>& others);

bool fd_is_socket(pid_t pid, int fd);

}  // namespace gputrace::attach
