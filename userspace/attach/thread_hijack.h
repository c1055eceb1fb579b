// ThreadHijack: the few milliseconds one idle thread of the process is stopped. It checks the
// thread is where it was seen (blocked in the same system call), that seccomp allows what
// attaching does, then, with system calls run on the thread: blocks its signals, reads its
// alternate stack, maps (or reuses) the attach region, copies the library into a memfd when
// the process cannot open gputrace's file, writes the attach block and a signal frame holding
// the thread's own context, and lets the thread go into the trampoline (remote_code.h), which
// starts the helper thread and returns through the frame to what the thread was doing.
//
// On any failure before that last step, what was done is undone (signal mask, fresh mapping,
// memfd) and the thread goes on exactly as before.
#pragma once

#include "userspace/attach/proc_facts.h"
#include "userspace/attach/target_library.h"
#include "userspace/util/result.h"

extern "C" {
#include "bpf/gpu_attach.h"
}

#include <chrono>
#include <cstdint>
#include <string>

namespace gputrace::attach {

struct HijackPlan {
  pid_t pid = 0;
  ThreadFacts thread;          // as seen idle
  bool check_seccomp = false;  // the process runs seccomp filters
  LibcFunctions libc;
  uint64_t region = 0;         // an attach region left by an earlier attach, or 0
  uint64_t entry = 0;          // the library's entry when it is loaded already, or 0
  std::string dlopen_path;     // the library as the process opens it ("" with memfd_source)
  std::string memfd_source;    // gputrace's library, copied into a memfd of the process
  unsigned memfd_flags = 0;    // MFD_EXEC where vm.memfd_noexec would make it non-executable
  gt_attach_block block{};     // inputs (args, seq); the rest is filled here
};

struct HijackResult {
  uint64_t region = 0;  // where the block is: read it there
  std::chrono::microseconds stopped{0};  // how long the thread was held
};

// Retryable failures (the thread moved) say so: another thread may do.
struct HijackError {
  Error error;
  bool try_another_thread = false;
  bool refusal = false;  // seccomp: a reason to give the user, not a failure of gputrace
};

tl::expected<HijackResult, HijackError> hijack_thread(HijackPlan plan);

inline constexpr uint64_t kRegionCodeBytes = 4096;
inline constexpr uint64_t kRegionBytes = 3 * 4096;  // code page, then the block's pages
inline constexpr uint64_t kBlockOffset = kRegionCodeBytes;

}  // namespace gputrace::attach
