// How attach reads /proc (thread system calls, memory maps) and which threads it may stop:
// only idle ones, blocked in a call the kernel restarts by itself, holding none of libc's
// locks; and how a stopped thread's registers are set to restart its call by hand.
#include "userspace/attach/proc_facts.h"
#include "userspace/attach/ptrace_thread.h"
#include "userspace/attach/thread_picker.h"

#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>

namespace gputrace::attach {
namespace {

TEST(ProcFacts, ParsesAThreadsSystemCall) {
  EXPECT_TRUE(parse_syscall("running\n")->running);
  const auto blocked = parse_syscall("-1 0x7ffc1000 0x7f00aa\n");
  ASSERT_TRUE(blocked);
  EXPECT_FALSE(blocked->running);
  EXPECT_EQ(blocked->nr, -1);
  EXPECT_EQ(blocked->pc, 0x7f00aau);
  const auto futex = parse_syscall("202 0x55add24da0e8 0x189 0x0 0x0 0x0 0xffffffff 0x7f0e52171dc0 0x7f0e539fef16\n");
  ASSERT_TRUE(futex);
  EXPECT_EQ(futex->nr, SYS_futex);
  EXPECT_EQ(futex->args[0], 0x55add24da0e8u);
  EXPECT_EQ(futex->args[1], 0x189u);
  EXPECT_EQ(futex->sp, 0x7f0e52171dc0u);
  EXPECT_EQ(futex->pc, 0x7f0e539fef16u);
  EXPECT_FALSE(parse_syscall("202 0x1 0x2"));
}

TEST(ProcFacts, ParsesMapsLines) {
  const auto lib = parse_maps_line("7f96c5bd0000-7f96c5bfe000 r-xp 00007000 fe:00 5357768    /usr/lib/x86_64-linux-gnu/libc.so.6");
  ASSERT_TRUE(lib);
  EXPECT_EQ(lib->start, 0x7f96c5bd0000u);
  EXPECT_EQ(lib->offset, 0x7000u);
  EXPECT_TRUE(lib->executable());
  EXPECT_EQ(lib->path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
  const auto memfd = parse_maps_line("7f528c8e8000-7f528c8ef000 r--p 00000000 00:01 3196  /memfd:gputrace-cupti (deleted)");
  ASSERT_TRUE(memfd);
  EXPECT_EQ(memfd->path, "/memfd:gputrace-cupti (deleted)");
  const auto anon = parse_maps_line("7f0000000000-7f0000003000 rw-p 00000000 00:00 0 ");
  ASSERT_TRUE(anon);
  EXPECT_EQ(anon->path, "");
  std::vector<Mapping> maps{*lib, *memfd};
  EXPECT_EQ(find_library(maps, "libc.so"), &maps[0]);
  EXPECT_EQ(find_library(maps, "libcuda.so"), nullptr);
  EXPECT_EQ(mapping_at(maps, 0x7f96c5bd0010), &maps[0]);
}

ThreadFacts blocked_in(long nr, std::array<uint64_t, 6> args = {}) {
  ThreadFacts t;
  t.tid = 11;
  t.state = 'S';
  t.syscall.running = false;
  t.syscall.nr = nr;
  t.syscall.args = args;
  return t;
}

bool never_socket(pid_t, int) { return false; }
bool always_socket(pid_t, int) { return true; }

ThreadVerdict judge(const ThreadFacts& t, const std::vector<Mapping>& libc = {}, bool (*socket)(pid_t, int) = never_socket,
                    uint64_t shared_pending = 0) {
  return judge_thread(t, shared_pending, libc, socket, 10).verdict;
}

TEST(ThreadPicker, IdleInACallTheKernelRestartsIsChosen) {
  EXPECT_EQ(judge(blocked_in(SYS_futex, {0x55000000, FUTEX_WAIT_PRIVATE, 0, 0})), ThreadVerdict::Idle);
  EXPECT_EQ(judge(blocked_in(SYS_futex, {0x55000000, FUTEX_WAIT_BITSET_PRIVATE, 0, 0x7ffc0000})), ThreadVerdict::Idle);
  EXPECT_EQ(judge(blocked_in(SYS_read, {5})), ThreadVerdict::Idle);
  EXPECT_EQ(judge(blocked_in(SYS_poll, {0x7ffc, 1, static_cast<uint64_t>(-1)})), ThreadVerdict::Idle);
  EXPECT_EQ(judge(blocked_in(SYS_clock_nanosleep, {CLOCK_MONOTONIC, TIMER_ABSTIME, 0x7ffc})), ThreadVerdict::Idle);
  EXPECT_EQ(judge(blocked_in(SYS_wait4)), ThreadVerdict::Idle);
  EXPECT_EQ(judge(blocked_in(SYS_pause)), ThreadVerdict::Idle);
}

TEST(ThreadPicker, NeverAThreadThatWouldSeeEintrOrLoseItsTimeout) {
  EXPECT_EQ(judge(blocked_in(SYS_epoll_wait)), ThreadVerdict::MustNotInterrupt);
  EXPECT_EQ(judge(blocked_in(SYS_rt_sigtimedwait)), ThreadVerdict::MustNotInterrupt);
  EXPECT_EQ(judge(blocked_in(SYS_semtimedop)), ThreadVerdict::MustNotInterrupt);
  EXPECT_EQ(judge(blocked_in(SYS_recvmsg)), ThreadVerdict::MustNotInterrupt);
  EXPECT_EQ(judge(blocked_in(SYS_read, {3}), {}, always_socket), ThreadVerdict::Socket);
  EXPECT_EQ(judge(blocked_in(SYS_nanosleep)), ThreadVerdict::TimedWait);
  EXPECT_EQ(judge(blocked_in(SYS_poll, {0x7ffc, 1, 100})), ThreadVerdict::TimedWait);
  EXPECT_EQ(judge(blocked_in(SYS_futex, {0x55000000, FUTEX_WAIT_PRIVATE, 0, 0x7ffc0000})), ThreadVerdict::TimedWait);
}

// A temporary signal mask is kept aside by the kernel while the call waits; gputrace sets the
// stopped thread's mask, which would drop it.
TEST(ThreadPicker, NeverAThreadWaitingWithASignalMaskOfItsOwn) {
  EXPECT_EQ(judge(blocked_in(SYS_rt_sigsuspend, {0x7ffc, 8})), ThreadVerdict::TemporaryMask);
  EXPECT_EQ(judge(blocked_in(SYS_ppoll, {0, 0, 0, 0x7ffc, 8})), ThreadVerdict::TemporaryMask);
  EXPECT_EQ(judge(blocked_in(SYS_pselect6, {1, 0x7ffc, 0, 0, 0, 0x7ffd})), ThreadVerdict::TemporaryMask);
  EXPECT_EQ(judge(blocked_in(SYS_ppoll, {0x7ffc, 1, 0, 0, 8})), ThreadVerdict::Idle);  // no mask, no timeout
  EXPECT_EQ(judge(blocked_in(SYS_pause)), ThreadVerdict::Idle);
}

TEST(ThreadPicker, NeverAThreadThatMayHoldALockOfLibc) {
  ThreadFacts running = blocked_in(0);
  running.syscall.running = true;
  running.state = 'R';
  EXPECT_EQ(judge(running), ThreadVerdict::Running);
  EXPECT_EQ(judge(blocked_in(SYS_mmap)), ThreadVerdict::OtherSyscall);
  EXPECT_EQ(judge(blocked_in(SYS_openat)), ThreadVerdict::OtherSyscall);
  // Waiting for a lock that lives in libc's data: malloc's main arena, the loader, stdio.
  const std::vector<Mapping> libc{{.start = 0x7f0000000000, .end = 0x7f0000200000, .path = "/lib/libc.so.6"}};
  EXPECT_EQ(judge(blocked_in(SYS_futex, {0x7f0000100040, FUTEX_WAIT_PRIVATE, 2, 0}), libc), ThreadVerdict::LibcLockWait);
  EXPECT_EQ(judge(blocked_in(SYS_futex, {0x55000000, FUTEX_WAKE_PRIVATE, 1, 0})), ThreadVerdict::OtherSyscall);
}

TEST(ThreadPicker, NeverAThreadAboutToHandleASignal) {
  ThreadFacts t = blocked_in(SYS_futex, {0x55000000, FUTEX_WAIT_PRIVATE, 0, 0});
  t.pending_signals = 1ull << (SIGUSR1 - 1);
  EXPECT_EQ(judge(t), ThreadVerdict::SignalPending);
  t.blocked_signals = t.pending_signals;  // blocked: it waits, so may the thread
  EXPECT_EQ(judge(t), ThreadVerdict::Idle);
  EXPECT_EQ(judge(t, {}, never_socket, 1ull << (SIGTERM - 1)), ThreadVerdict::SignalPending);
}

TEST(ThreadPicker, SaysWhyNoThreadWasChosen) {
  std::vector<ThreadChoice> others = {{blocked_in(SYS_epoll_wait), ThreadVerdict::MustNotInterrupt,
                                       "in epoll_wait, which returns EINTR to a stopped thread"},
                                      {blocked_in(0), ThreadVerdict::Running, "running"},
                                      {blocked_in(0), ThreadVerdict::Running, "running"}};
  EXPECT_EQ(summarize_busy(others), "3 threads are busy: 1 in epoll_wait, which returns EINTR to a stopped thread, 2 "
                                    "running");
}

user_regs_struct stopped_in(long nr, long ret) {
  user_regs_struct r{};
  r.orig_rax = static_cast<unsigned long long>(nr);
  r.rax = static_cast<unsigned long long>(ret);
  r.rip = 0x401002;
  return r;
}

// What a stopped thread's registers become to go on as if never stopped.
TEST(RestartByHand, ReissuesTheCallOrRestartsWhatIsLeftOfIt) {
  for (long code : {-512, -513, -514}) {
    const user_regs_struct r = restarted(stopped_in(SYS_read, code));
    EXPECT_EQ(r.rax, static_cast<unsigned long long>(SYS_read));
    EXPECT_EQ(r.rip, 0x401000u);
    EXPECT_EQ(r.orig_rax, static_cast<unsigned long long>(-1));
  }
  user_regs_struct sleep = stopped_in(SYS_nanosleep, -516);
  EXPECT_EQ(restarted(sleep).rax, static_cast<unsigned long long>(SYS_restart_syscall));
  user_regs_struct bitset = stopped_in(SYS_futex, -516);  // an absolute deadline: the same call again
  bitset.rsi = FUTEX_WAIT_BITSET_PRIVATE;
  bitset.r10 = 0x7ffc0000;
  EXPECT_EQ(restarted(bitset).rax, static_cast<unsigned long long>(SYS_futex));
  // An EINTR the stop itself caused is hidden by issuing the call again...
  EXPECT_EQ(restarted(stopped_in(SYS_epoll_wait, -4)).rax, static_cast<unsigned long long>(SYS_epoll_wait));
  // ...but a finished call keeps its result, and a thread outside a call its registers.
  EXPECT_EQ(restarted(stopped_in(SYS_read, 8)).rax, 8u);
  EXPECT_EQ(restarted(stopped_in(SYS_read, 8)).rip, 0x401002u);
  EXPECT_EQ(restarted(stopped_in(-1, 77)).rax, 77u);
}

}  // namespace
}  // namespace gputrace::attach

#include "userspace/attach/announce.h"

namespace gputrace::attach {
namespace {

// /proc/net/unix as the kernel writes it: only listening sockets with gputrace's prefix.
TEST(AnnounceToLibraries, FindsListeningControlSocketsInProcNetUnix) {
  const std::string table =
      "Num       RefCount Protocol Flags    Type St Inode Path\n"
      "000000004dfb3a20: 00000002 00000000 00010000 0005 01 376001 @gputrace-cupti.4242.00ff00ff00ff00ff\n"
      "000000004dfb3a21: 00000003 00000000 00000000 0005 03 376002 @gputrace-cupti.4242.00ff00ff00ff00ff\n"
      "000000004dfb3a22: 00000002 00000000 00010000 0001 01 376003 /run/gputrace/cupti.sock\n"
      "000000004dfb3a23: 00000002 00000000 00010000 0005 01 376004 @other\n"
      "000000004dfb3a24: 00000003 00000000 00000000 0001 03 1135\n";
  EXPECT_EQ(control_socket_names(table), std::vector<std::string>{"gputrace-cupti.4242.00ff00ff00ff00ff"});
}

}  // namespace
}  // namespace gputrace::attach
