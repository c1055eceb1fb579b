// Why the kernel refused gputrace ptrace access to a process, in words a person can act on:
// Yama's ptrace_scope (3 forbids everyone, root included, until reboot), a missing
// CAP_SYS_PTRACE against another user's or a non-dumpable process, or a security module.
#pragma once

#include <sys/types.h>

#include <string>

namespace gputrace::attach {

struct PtraceContext {
  int yama_scope = -1;       // kernel.yama.ptrace_scope, -1 without Yama
  bool cap_sys_ptrace = false;
  uid_t self_uid = 0;
  uid_t target_uid = 0;
  bool target_dumpable = true;
};

// What this host and these two processes look like (the sysctl, our capabilities, the
// target's owner and whether /proc says it is dumpable).
PtraceContext ptrace_context(pid_t target);

// errnum: what the kernel said (EPERM or EACCES) to ptrace or to reading the target's
// /proc/PID/task/*/syscall, which passes the same check.
std::string explain_ptrace_refusal(int errnum, const PtraceContext& c, pid_t pid);

// Reads kernel.yama.ptrace_scope from `path` (the sysctl file; tests name another): -1 when
// it does not exist (no Yama).
int read_yama_scope(const std::string& path = "/proc/sys/kernel/yama/ptrace_scope");

}  // namespace gputrace::attach
