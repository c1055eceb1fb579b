// The seccomp filter evaluator attach uses to refuse instead of having the kernel kill the
// process: classic BPF run on seccomp_data as the kernel lays it out, filters combined by
// the kernel's precedence, and the verdict over the calls attaching makes.
#include "userspace/attach/seccomp_check.h"

#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/syscall.h>

#include <cerrno>

namespace gputrace::attach {
namespace {

constexpr uint32_t kNr = offsetof(seccomp_data, nr), kArch = offsetof(seccomp_data, arch),
                   kArg1Low = offsetof(seccomp_data, args) + 8;

sock_filter stmt(uint16_t code, uint32_t k) { return {code, 0, 0, k}; }
sock_filter jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return {code, jt, jf, k}; }

// The usual shape: wrong architecture kills, then per-call verdicts, then a default.
SeccompFilter filter_denying(long nr, uint32_t action, uint32_t otherwise = SECCOMP_RET_ALLOW) {
  return {
      stmt(BPF_LD | BPF_W | BPF_ABS, kArch),
      jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      stmt(BPF_LD | BPF_W | BPF_ABS, kNr),
      jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(nr), 0, 1),
      stmt(BPF_RET | BPF_K, action),
      stmt(BPF_RET | BPF_K, otherwise),
  };
}

TEST(SeccompEvaluator, RunsAFilterOnTheCallsNumberAndArchitecture) {
  const SeccompFilter f = filter_denying(SYS_memfd_create, SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(run_seccomp_filter(f, {SYS_memfd_create, {}, 0}), SECCOMP_RET_KILL_PROCESS);
  EXPECT_EQ(run_seccomp_filter(f, {SYS_mmap, {}, 0}), SECCOMP_RET_ALLOW);
}

TEST(SeccompEvaluator, ReadsArgumentsAndDoesArithmetic) {
  // socket(): only AF_UNIX (1) allowed, by masking the low word of the first argument.
  const SeccompFilter f = {
      stmt(BPF_LD | BPF_W | BPF_ABS, kNr),
      jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_socket, 0, 4),
      stmt(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, args)),
      stmt(BPF_ALU | BPF_AND | BPF_K, 0xff),
      jump(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 1),
      stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      stmt(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
  };
  EXPECT_EQ(run_seccomp_filter(f, {SYS_socket, {1, 5, 0}, 0}), SECCOMP_RET_ALLOW);
  EXPECT_EQ(run_seccomp_filter(f, {SYS_socket, {2, 1, 0}, 0}), SECCOMP_RET_ERRNO | EACCES);
  // An argument's low word lands where the kernel puts it.
  const SeccompFilter second = {stmt(BPF_LD | BPF_W | BPF_ABS, kArg1Low), stmt(BPF_RET | BPF_A, 0)};
  EXPECT_EQ(run_seccomp_filter(second, {0, {0, 0x7fff0000}, 0}), 0x7fff0000u);
}

TEST(SeccompEvaluator, AFilterThatReadsOutOfBoundsOrRunsOffItsEndKills) {
  EXPECT_EQ(run_seccomp_filter({stmt(BPF_LD | BPF_W | BPF_ABS, 64), stmt(BPF_RET | BPF_A, 0)}, {SYS_read, {}, 0}),
            SECCOMP_RET_KILL_THREAD);
  EXPECT_EQ(run_seccomp_filter({stmt(BPF_LD | BPF_W | BPF_ABS, kNr)}, {SYS_read, {}, 0}), SECCOMP_RET_KILL_THREAD);
}

TEST(SeccompEvaluator, TheMostSevereActionOfAllFiltersWins) {
  const std::vector<SeccompFilter> filters = {filter_denying(SYS_mmap, SECCOMP_RET_ERRNO | EPERM),
                                              filter_denying(SYS_mmap, SECCOMP_RET_TRAP),
                                              filter_denying(SYS_read, SECCOMP_RET_LOG)};
  EXPECT_EQ(run_seccomp_filters(filters, {SYS_mmap, {}, 0}), SECCOMP_RET_TRAP);
  EXPECT_EQ(run_seccomp_filters(filters, {SYS_read, {}, 0}), SECCOMP_RET_LOG);
  EXPECT_EQ(run_seccomp_filters(filters, {SYS_write, {}, 0}), SECCOMP_RET_ALLOW);
}

TEST(SeccompVerdict, NamesTheFirstCallAttachingWouldHaveRefusedOrKilled) {
  EXPECT_EQ(seccomp_refusal({filter_denying(SYS_memfd_create, SECCOMP_RET_KILL_PROCESS)}),
            "its seccomp filter answers memfd_create with KILL_PROCESS");
  EXPECT_EQ(seccomp_refusal({filter_denying(SYS_socket, SECCOMP_RET_ERRNO | EPERM)}),
            "its seccomp filter answers socket (AF_UNIX) with ERRNO(1)");
  EXPECT_EQ(seccomp_refusal({filter_denying(SYS_mprotect, SECCOMP_RET_TRAP)}),
            "its seccomp filter answers mprotect with TRAP (SIGSYS)");
}

// Container runtimes refuse clone3 with ENOSYS so that glibc falls back to clone: fine.
TEST(SeccompVerdict, AllowsWhatContainerRuntimesAllow) {
  EXPECT_EQ(seccomp_refusal({}), "");
  EXPECT_EQ(seccomp_refusal({filter_denying(SYS_clone3, SECCOMP_RET_ERRNO | ENOSYS)}), "");
  EXPECT_EQ(seccomp_refusal({filter_denying(SYS_clone3, SECCOMP_RET_ERRNO | EPERM)}),
            "its seccomp filter answers clone3 with ERRNO(1)");
  EXPECT_EQ(seccomp_refusal({filter_denying(SYS_ptrace, SECCOMP_RET_KILL_PROCESS)}), "");  // not one of ours
}

}  // namespace
}  // namespace gputrace::attach
