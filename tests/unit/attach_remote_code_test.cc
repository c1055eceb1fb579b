// The code attach copies into a process, run here in-process: the helper thread routine with
// a block pointing at this process's own libc (entry given, dlopen and dlsym failures, the
// memfd descriptor closed), and the signal frame's layout that the trampoline returns through.
#include "userspace/attach/remote_code.h"
#include "userspace/attach/sigframe.h"

extern "C" {
#include "bpf/gpu_attach.h"
}

#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

namespace gputrace::attach {
namespace {

int g_entry_calls = 0;
const gt_attach_args* g_entry_args = nullptr;
extern "C" int fake_entry(gt_attach_args* a) {
  ++g_entry_calls;
  g_entry_args = a;
  return 7;
}

class RemoteHelper : public ::testing::Test {
 protected:
  void SetUp() override {
    std::memset(&b, 0, sizeof(b));
    b.magic = GT_ATTACH_MAGIC;
    b.fn_pthread_self = reinterpret_cast<uint64_t>(&pthread_self);
    b.fn_pthread_detach = reinterpret_cast<uint64_t>(&pthread_detach);
    b.fn_dlopen = reinterpret_cast<uint64_t>(&dlopen);
    b.fn_dlsym = reinterpret_cast<uint64_t>(&dlsym);
    b.fn_dlerror = reinterpret_cast<uint64_t>(&dlerror);
    b.fn_close = reinterpret_cast<uint64_t>(&close);
    b.close_fd = -1;
    std::snprintf(b.symbol, sizeof(b.symbol), "%s", GT_ATTACH_ENTRY_SYMBOL);
  }
  // Starts the helper as the trampoline would and waits for it to finish.
  void run_helper() {
    const RemoteCode code = remote_code();
    auto routine = reinterpret_cast<void* (*)(void*)>(const_cast<std::byte*>(code.bytes.data() + code.helper));
    pthread_t t;
    ASSERT_EQ(pthread_create(&t, nullptr, routine, &b), 0);
    for (int i = 0; i < 5000 && __atomic_load_n(&b.stage, __ATOMIC_ACQUIRE) < GT_ATTACH_STAGE_DONE; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the helper's last instructions; it detached itself
  }
  gt_attach_block b;
};

TEST(RemoteCode, FitsTheRegionsCodePage) {
  const RemoteCode code = remote_code();
  EXPECT_GT(code.bytes.size(), 0u);
  EXPECT_LE(code.bytes.size(), 4096u);
  EXPECT_LT(code.trampoline, code.bytes.size());
  EXPECT_LT(code.helper, code.bytes.size());
}

TEST_F(RemoteHelper, CallsAnEntryAlreadyKnownWithTheArgs) {
  b.entry = reinterpret_cast<uint64_t>(&fake_entry);
  run_helper();
  EXPECT_EQ(b.stage, static_cast<uint32_t>(GT_ATTACH_STAGE_DONE));
  EXPECT_EQ(b.entry_rc, 7);
  EXPECT_EQ(g_entry_calls, 1);
  EXPECT_EQ(g_entry_args, &b.args);
}

TEST_F(RemoteHelper, ReportsWhyTheLibraryCouldNotBeLoadedAndClosesTheCopy) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  b.close_fd = fds[0];
  std::snprintf(b.path, sizeof(b.path), "/nonexistent/libgputrace_cupti.so");
  run_helper();
  EXPECT_EQ(b.stage, static_cast<uint32_t>(GT_ATTACH_STAGE_DLOPEN_FAILED));
  EXPECT_NE(std::string(b.error).find("cannot open shared object file"), std::string::npos) << b.error;
  EXPECT_EQ(fcntl(fds[0], F_GETFD), -1);  // closed by the helper
  close(fds[1]);
}

TEST_F(RemoteHelper, ReportsALibraryWithoutTheEntryPoint) {
  std::snprintf(b.path, sizeof(b.path), "libc.so.6");  // loaded, and no gputrace entry in it
  run_helper();
  EXPECT_EQ(b.stage, static_cast<uint32_t>(GT_ATTACH_STAGE_DLSYM_FAILED));
  EXPECT_NE(std::string(b.error).find("undefined symbol"), std::string::npos) << b.error;
  EXPECT_NE(b.handle, 0u);
}

// The frame the kernel's rt_sigreturn reads: registers in sigcontext order, the mask, and the
// FPU image with the sizes the kernel checks before it restores more than the legacy part.
TEST(SigFrame, LaysTheContextOutAsRtSigreturnReadsIt) {
  user_regs_struct r{};
  r.rip = 0x401000;
  r.rsp = 0x7ffc0000;
  r.rax = 202;
  r.r15 = 0xf15;
  r.cs = 0x33;
  r.ss = 0x2b;
  std::vector<std::byte> xstate(2432, std::byte{0x5a});
  const uint64_t xcr0 = 0xe7;
  std::memcpy(xstate.data() + 464, &xcr0, sizeof(xcr0));
  stack_t alt{};
  alt.ss_flags = SS_DISABLE;
  auto f = build_sigframe(r, xstate, 0x4000, alt, 0x7ffbff00);
  ASSERT_TRUE(f) << f.error().describe();
  EXPECT_EQ(f->address % 64, 0u);
  EXPECT_LE(f->address + f->bytes.size(), 0x7ffbff00u);
  auto word = [&](size_t at) {
    uint64_t v;
    std::memcpy(&v, f->bytes.data() + at, sizeof(v));
    return v;
  };
  EXPECT_EQ(word(kFrameUcontext), 0x7u);                        // FP_XSTATE | SIGCONTEXT_SS | STRICT_RESTORE_SS
  EXPECT_EQ(static_cast<int32_t>(word(kFrameUcontext + 24)), SS_DISABLE);
  EXPECT_EQ(word(kFrameMcontext + 7 * 8), 0xf15u);               // r15
  EXPECT_EQ(word(kFrameMcontext + 13 * 8), 202u);                // rax
  EXPECT_EQ(word(kFrameMcontext + 15 * 8), 0x7ffc0000u);         // rsp
  EXPECT_EQ(word(kFrameMcontext + 16 * 8), 0x401000u);           // rip
  EXPECT_EQ(word(kFrameMcontext + 184), f->address + kFrameFpstate);  // fpstate
  EXPECT_EQ(word(kFrameSigmask), 0x4000u);
  uint32_t magic1, size, magic2;
  uint64_t features;
  std::memcpy(&magic1, f->bytes.data() + kFrameFpstate + 464, 4);
  std::memcpy(&features, f->bytes.data() + kFrameFpstate + 472, 8);
  std::memcpy(&size, f->bytes.data() + kFrameFpstate + 480, 4);
  std::memcpy(&magic2, f->bytes.data() + kFrameFpstate + 2432, 4);
  EXPECT_EQ(magic1, 0x46505853u);
  EXPECT_EQ(features, xcr0);
  EXPECT_EQ(size, 2432u);
  EXPECT_EQ(magic2, 0x46505845u);
  EXPECT_EQ(f->bytes[kFrameFpstate + 600], std::byte{0x5a});  // the registers themselves
}

}  // namespace
}  // namespace gputrace::attach
