// SigFrame: an x86-64 rt_sigreturn frame that hands a thread back its own context: every
// general register, the FPU and vector state (the XSAVE image ptrace gave), the signal mask
// and the alternate signal stack. Written below the thread's stack pointer, it is what the
// attach trampoline returns through (remote_code.h), exactly as the kernel's own signal frames
// are returned through when a signal handler ends.
#pragma once

#include "userspace/util/result.h"

#include <signal.h>
#include <sys/user.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gputrace::attach {

struct SigFrame {
  uint64_t address = 0;         // where the frame starts (the trampoline's r13)
  std::vector<std::byte> bytes;  // to be written at `address`
};

// The frame for `resume` (the registers to return to, restart already applied), placed
// 64-byte aligned below `below`. xstate: PTRACE_GETREGSET NT_X86_XSTATE's image (XCR0 in
// its software-reserved bytes); mask: the thread's signal mask; altstack: its sigaltstack().
Result<SigFrame> build_sigframe(const user_regs_struct& resume, std::span<const std::byte> xstate, uint64_t mask,
                                const stack_t& altstack, uint64_t below);

// Byte offsets of the frame, for the tests.
inline constexpr size_t kFrameUcontext = 8;         // after pretcode
inline constexpr size_t kFrameMcontext = 8 + 40;    // uc_flags, uc_link, uc_stack
inline constexpr size_t kFrameSigmask = 8 + 296;    // after the 256-byte sigcontext
inline constexpr size_t kFrameFpstate = 448;        // 8 + 304 + 128 (siginfo), 64-aligned

}  // namespace gputrace::attach
