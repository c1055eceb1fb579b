// The machine code gputrace copies into a process it attaches to (x86-64, position
// independent, one page). Two routines, both only ever run in that process:
//
// trampoline: runs on the thread gputrace stopped, entered with r12 = the attach block
//   (bpf/gpu_attach.h), r13 = a signal frame holding the thread's own context, and rsp a
//   16-byte aligned stack below that frame. It calls pthread_create(helper, block), stores
//   the result in the block, and ends with rt_sigreturn through the frame: the thread gets
//   back its registers, FPU state, signal mask and alternate stack, and restarts the system
//   call it was stopped in. No trap, no tracer needed at the end: if gputrace dies once the
//   thread is in the trampoline, the thread still finishes and goes back to what it was doing.
//
// helper: the new thread's start routine. Detaches itself, dlopen()s the library (unless the
//   block names its entry already), closes the memfd copy it was loaded from, looks up the
//   entry point, calls it with &block->args and records each step in the block (stage,
//   dlerror() text) for gputrace to read.
#pragma once

#include <cstddef>
#include <span>

namespace gputrace::attach {

struct RemoteCode {
  std::span<const std::byte> bytes;  // fits in one page
  size_t trampoline = 0;             // offsets into bytes
  size_t helper = 0;
};

RemoteCode remote_code();

}  // namespace gputrace::attach
