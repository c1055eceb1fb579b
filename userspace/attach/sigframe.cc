#include "userspace/attach/sigframe.h"

#include <cstring>

namespace gputrace::attach {
namespace {

// arch/x86/include/uapi/asm/sigcontext.h
constexpr uint32_t kFpXstateMagic1 = 0x46505853, kFpXstateMagic2 = 0x46505845;
constexpr uint64_t kUcFpXstate = 0x1, kUcSigcontextSs = 0x2, kUcStrictRestoreSs = 0x4;
constexpr size_t kSwReserved = 464;  // struct _fpx_sw_bytes inside the 512-byte legacy area

struct FpxSwBytes {
  uint32_t magic1;
  uint32_t extended_size;
  uint64_t xfeatures;
  uint32_t xstate_size;
  uint32_t padding[7];
};
static_assert(sizeof(FpxSwBytes) == 48);

template <class T>
void put(std::vector<std::byte>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(v));
}

}  // namespace

Result<SigFrame> build_sigframe(const user_regs_struct& r, std::span<const std::byte> xstate, uint64_t mask,
                                const stack_t& altstack, uint64_t below) {
  if (xstate.size() < 512 + 64) return fail("the thread's FPU state is too short ({} bytes)", xstate.size());
  // ptrace puts XCR0 (the state components in use) where a signal frame carries the sizes
  // rt_sigreturn checks; without those it would restore the legacy part only and lose the
  // vector registers' upper halves. Written here from the image's own size and XCR0.
  uint64_t xcr0 = 0;
  std::memcpy(&xcr0, xstate.data() + kSwReserved, sizeof(xcr0));
  FpxSwBytes sw{};
  sw.magic1 = kFpXstateMagic1;
  sw.xstate_size = static_cast<uint32_t>(xstate.size());
  sw.extended_size = sw.xstate_size + sizeof(uint32_t);
  sw.xfeatures = xcr0;
  const size_t frame_size = (kFrameFpstate + sw.xstate_size + sizeof(uint32_t) + 63) & ~size_t{63};
  SigFrame f;
  f.address = (below - frame_size) & ~uint64_t{63};
  f.bytes.assign(frame_size, std::byte{0});
  auto& b = f.bytes;
  // ucontext: uc_flags, uc_link, uc_stack {ss_sp, ss_flags, ss_size}
  put<uint64_t>(b, kFrameUcontext, kUcFpXstate | kUcSigcontextSs | kUcStrictRestoreSs);
  put<uint64_t>(b, kFrameUcontext + 16, reinterpret_cast<uint64_t>(altstack.ss_sp));
  put<int32_t>(b, kFrameUcontext + 24, altstack.ss_flags);
  put<uint64_t>(b, kFrameUcontext + 32, altstack.ss_size);
  // sigcontext, in its order.
  const uint64_t gp[] = {r.r8, r.r9, r.r10, r.r11, r.r12, r.r13, r.r14, r.r15, r.rdi, r.rsi,
                         r.rbp, r.rbx, r.rdx, r.rax, r.rcx, r.rsp, r.rip, r.eflags};
  size_t at = kFrameMcontext;
  for (uint64_t v : gp) put<uint64_t>(b, (at += 8) - 8, v);
  put<uint16_t>(b, at, static_cast<uint16_t>(r.cs));  // cs, gs, fs, ss
  put<uint16_t>(b, at + 2, 0);
  put<uint16_t>(b, at + 4, 0);
  put<uint16_t>(b, at + 6, static_cast<uint16_t>(r.ss));
  at += 8 + 32;  // err, trapno, oldmask, cr2
  put<uint64_t>(b, at, f.address + kFrameFpstate);
  put<uint64_t>(b, kFrameSigmask, mask);
  // The XSAVE image, then the second magic right after the size the first one announced.
  std::memcpy(b.data() + kFrameFpstate, xstate.data(), sw.xstate_size);
  std::memcpy(b.data() + kFrameFpstate + kSwReserved, &sw, sizeof(sw));
  put<uint32_t>(b, kFrameFpstate + sw.xstate_size, kFpXstateMagic2);
  return f;
}

}  // namespace gputrace::attach
