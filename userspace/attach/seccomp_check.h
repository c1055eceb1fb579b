// Seccomp: runs a process's seccomp filters (classic BPF, fetched with
// PTRACE_SECCOMP_GET_FILTER from a stopped thread) on the system calls attaching will make in
// it: gputrace's own few, what pthread_create and dlopen make, and what the library makes.
// A filter that would kill the process, trap or refuse any of them means gputrace refuses
// to attach, naming the call, instead of having the kernel kill the process.
#pragma once

#include "userspace/util/result.h"

#include <linux/filter.h>
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace gputrace::attach {

using SeccompFilter = std::vector<sock_filter>;

struct SeccompCall {
  long nr = 0;
  std::array<uint64_t, 6> args{};
  uint64_t ip = 0;
};

// The SECCOMP_RET_* value one filter returns for `call` (x86-64); SECCOMP_RET_KILL_THREAD for
// a filter that reads out of bounds or runs off its end, as the kernel would refuse it.
uint32_t run_seccomp_filter(const SeccompFilter& filter, const SeccompCall& call);
// All of a thread's filters: the action of highest precedence wins (kill > trap > errno >
// user notification > trace > log > allow).
uint32_t run_seccomp_filters(const std::vector<SeccompFilter>& filters, const SeccompCall& call);
std::string seccomp_action_name(uint32_t ret);

// The filters of a thread in a ptrace-stop (needs CAP_SYS_ADMIN).
Result<std::vector<SeccompFilter>> read_seccomp_filters(pid_t stopped_tid);

// Empty when every call attaching needs is allowed, else why not: "its seccomp filter answers
// mmap with KILL_PROCESS".
std::string seccomp_refusal(const std::vector<SeccompFilter>& filters);

}  // namespace gputrace::attach
