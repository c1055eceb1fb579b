// The words gputrace uses when the kernel refuses ptrace: Yama's scope (the kernel's own
// refusal for ptrace_scope=3 is exercised in the vm tier, tests/vm/attach-yama), a missing
// capability, another user's or a non-dumpable process, a security module.
#include "userspace/attach/ptrace_permission.h"

#include "temp_dir.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <fstream>

namespace gputrace::attach {
namespace {

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(PtraceRefusal, YamaScope3ForbidsEveryoneAndSaysWhatToDoInstead) {
  const std::string m = explain_ptrace_refusal(EPERM, {.yama_scope = 3, .cap_sys_ptrace = true}, 1234);
  EXPECT_TRUE(has(m, "kernel refused ptrace access to process 1234")) << m;
  EXPECT_TRUE(has(m, "kernel.yama.ptrace_scope is 3")) << m;
  EXPECT_TRUE(has(m, "root included, until the next reboot")) << m;
  EXPECT_TRUE(has(m, "CUDA_INJECTION64_PATH")) << m;
}

TEST(PtraceRefusal, LowerYamaScopesNeedTheCapability) {
  EXPECT_TRUE(has(explain_ptrace_refusal(EPERM, {.yama_scope = 2}, 1), "ptrace_scope is 2, so only a process with "
                                                                          "CAP_SYS_PTRACE"));
  EXPECT_TRUE(has(explain_ptrace_refusal(EPERM, {.yama_scope = 1}, 1), "ptrace_scope is 1"));
}

TEST(PtraceRefusal, WithoutTheCapabilityOwnerAndDumpabilityDecide) {
  const std::string other = explain_ptrace_refusal(EACCES, {.self_uid = 65534, .target_uid = 0}, 7);
  EXPECT_TRUE(has(other, "runs as uid 0 and gputrace as uid 65534 without CAP_SYS_PTRACE")) << other;
  const std::string nodump = explain_ptrace_refusal(EPERM, {.target_dumpable = false}, 7);
  EXPECT_TRUE(has(nodump, "not dumpable")) << nodump;
  EXPECT_TRUE(has(explain_ptrace_refusal(EPERM, {}, 7), "lacks CAP_SYS_PTRACE"));
}

TEST(PtraceRefusal, WithTheCapabilityItIsASecurityModule) {
  const std::string m = explain_ptrace_refusal(EACCES, {.yama_scope = 0, .cap_sys_ptrace = true}, 9);
  EXPECT_TRUE(has(m, "security module")) << m;
  EXPECT_TRUE(has(m, "Permission denied")) << m;
}

TEST(PtraceRefusal, ReadsTheYamaSysctlOrItsAbsence) {
  test_support::TempDir dir;
  std::ofstream(dir.file("scope")) << "3\n";
  EXPECT_EQ(read_yama_scope(dir.file("scope")), 3);
  EXPECT_EQ(read_yama_scope(dir.file("missing")), -1);
}

}  // namespace
}  // namespace gputrace::attach
