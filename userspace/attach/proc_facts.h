// What /proc says about a process gputrace may attach to, read without stopping it: its
// status lines, its threads and the system call each is blocked in, its memory map. Reading a
// thread's system call needs the same permission as ptrace itself, so a refusal here is the
// kernel's answer to "may I attach?" before anything was touched.
#pragma once

#include "userspace/util/result.h"

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gputrace::attach {

struct Mapping {
  uint64_t start = 0, end = 0, offset = 0;
  std::string perms;  // "r-xp"
  uint64_t inode = 0;
  std::string path;   // "" for anonymous mappings, "[stack]", "/memfd:x (deleted)", ...
  bool executable() const { return perms.size() > 2 && perms[2] == 'x'; }
  // /proc/PID/map_files/START-END: the mapped file itself, whatever namespace named it.
  std::string map_file(pid_t pid) const;
};

// /proc/PID/task/TID/syscall: "running", or the system call number, its six arguments, the
// stack pointer and the instruction pointer of a thread blocked in it.
struct ThreadSyscall {
  bool running = true;
  long nr = -1;  // -1: blocked outside a system call (or "running")
  std::array<uint64_t, 6> args{};
  uint64_t sp = 0, pc = 0;
  bool operator==(const ThreadSyscall&) const = default;
};

struct ThreadFacts {
  pid_t tid = 0;
  std::string comm;
  char state = '?';  // R, S, D, T, t, Z, ...
  ThreadSyscall syscall;
  uint64_t voluntary_switches = 0, involuntary_switches = 0;
  uint64_t blocked_signals = 0, pending_signals = 0;  // SigBlk, SigPnd
};

struct ProcessFacts {
  pid_t pid = 0;
  std::string comm;
  char state = '?';
  pid_t tracer = 0;       // TracerPid
  int seccomp = 0;        // 0 none, 1 strict, 2 filter
  uid_t uid = 0;          // effective
  pid_t ns_pid = 0;       // the innermost pid namespace's number (NSpid's last)
  bool shadow_stack = false;  // x86_Thread_features lists shstk
  uint64_t shared_pending_signals = 0;  // ShdPnd
};

// /proc/PID/status. Fails with the kernel's errno (ESRCH: gone).
Result<ProcessFacts> read_process(pid_t pid);
Result<std::vector<Mapping>> read_maps(pid_t pid);
// Every thread with its system call; EACCES/EPERM here means ptrace would be refused.
Result<std::vector<ThreadFacts>> read_threads(pid_t pid);
Result<ThreadFacts> read_thread(pid_t pid, pid_t tid);

// Parsers, for the tests: one /proc line or file each.
std::optional<Mapping> parse_maps_line(const std::string& line);
std::optional<ThreadSyscall> parse_syscall(const std::string& text);

// The mapping of a library by file name ("libc.so.6", "libcuda.so"): the first one whose
// base name starts with `prefix`.
const Mapping* find_library(const std::vector<Mapping>& maps, const std::string& prefix);
const Mapping* mapping_at(const std::vector<Mapping>& maps, uint64_t address);

}  // namespace gputrace::attach
