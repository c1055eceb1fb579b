// attach_target: a busy multithreaded stand-in for a CUDA service, for `gputrace attach` tests.
// Its threads compute in loops, ping-pong over pipes, sleep in short nanosleeps, wait in
// epoll_wait on a 1 ms timer, and idle in condition waits and a pipe read; one "launches
// kernels" through the stand-in libcupti when it is preloaded (standin_cupti.cc). With
// --driver PATH it loads that file as its CUDA driver (the stand-in libcuda.so.1).
//
// A last thread keeps known values in its general and SSE registers across a raw nanosleep
// system call and checks them after each: the thread gputrace stops and gives back must get
// every register back. With --idle registers it is the only thread idle enough to be chosen.
//
// --idle none leaves no thread idle (epoll_wait, relative sleeps, busy loops only);
// --nondumpable makes it non-dumpable (prctl), as a setuid program is; --seccomp-kill-memfd
// installs a seccomp filter that kills the process on memfd_create, which it never calls.
//
// It runs until the file --until names exists, then joins everything and prints only what
// must not depend on gputrace having attached: the compute checksums' mismatches, the pipe
// sequence errors, EINTRs seen in epoll_wait, nanosleep and read, failed calls, and how many
// SIGRTMIN signals its handler saw; and exits with --exit-code. Prints "ready PID" once all
// threads run.
#include <dlfcn.h>
#include <fcntl.h>
#include <poll.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_mismatches{0}, g_sequence_errors{0}, g_eintr{0}, g_failures{0}, g_rt_signals{0},
    g_register_errors{0};

uint64_t work(uint64_t seed) {  // deterministic, a few microseconds
  uint64_t x = seed;
  for (int i = 0; i < 20000; ++i) x = x * 6364136223846793005ull + 1442695040888963407ull;
  return x;
}

void compute() {
  const uint64_t expected = work(42);
  while (!g_stop.load(std::memory_order_relaxed))
    if (work(42) != expected) ++g_mismatches;
}

void sleeper() {
  while (!g_stop.load()) {
    timespec t{0, 1'000'000};
    if (nanosleep(&t, nullptr) != 0) (errno == EINTR ? g_eintr : g_failures)++;
  }
}

// Two threads hand a counter back and forth through two pipes.
int g_ping[2], g_pong[2];
void ping() {
  for (uint64_t n = 0; !g_stop.load(); n += 2) {
    if (write(g_ping[1], &n, sizeof(n)) != sizeof(n)) ++g_failures;
    uint64_t back = 0;
    const ssize_t r = read(g_pong[0], &back, sizeof(back));
    if (r < 0 && errno == EINTR) ++g_eintr;
    if (r != sizeof(back) || back != n + 1) ++g_sequence_errors;
  }
  const uint64_t done = UINT64_MAX;
  (void)!write(g_ping[1], &done, sizeof(done));
}
void pong() {
  for (;;) {
    uint64_t n = 0;
    const ssize_t r = read(g_ping[0], &n, sizeof(n));
    if (r < 0 && errno == EINTR) ++g_eintr;
    if (r != sizeof(n)) {
      ++g_failures;
      return;
    }
    if (n == UINT64_MAX) return;
    ++n;
    if (write(g_pong[1], &n, sizeof(n)) != sizeof(n)) ++g_failures;
  }
}

// epoll_wait must never see the EINTR a ptrace stop would give it.
void epoller() {
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  itimerspec its{{0, 1'000'000}, {0, 1'000'000}};
  timerfd_settime(tfd, 0, &its, nullptr);
  epoll_event ev{EPOLLIN, {.fd = tfd}};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
  while (!g_stop.load()) {
    epoll_event got{};
    const int n = epoll_wait(ep, &got, 1, -1);
    if (n < 0) (errno == EINTR ? g_eintr : g_failures)++;
    uint64_t ticks;
    if (n == 1) (void)!read(tfd, &ticks, sizeof(ticks));
  }
}

pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
void idle_waiter() {
  pthread_mutex_lock(&g_mu);
  while (!g_stop.load()) pthread_cond_wait(&g_cv, &g_mu);
  pthread_mutex_unlock(&g_mu);
}

int g_idle_pipe[2];
void idle_reader() {
  char c;
  const ssize_t r = read(g_idle_pipe[0], &c, 1);
  if (r < 0 && errno == EINTR) ++g_eintr;
  if (r != 1) ++g_failures;
}

// "Kernels" through the stand-in libcupti, when the test preloaded it.
void launcher() {
  auto complete = reinterpret_cast<void (*)(uint32_t)>(dlsym(RTLD_DEFAULT, "gputrace_standin_cupti_complete_kernels"));
  while (!g_stop.load()) {
    if (complete) complete(5);
    usleep(2000);
  }
}

// A raw clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, ts) with r8, r9, r12-r15, rbx, rbp and
// xmm0-xmm15 holding known values (the syscall instruction itself clobbers only rax, rcx and
// r11; r10 is the call's fourth argument, 0); what they hold afterwards is stored for the
// caller to compare. Returns the system call's result.
//   rdi: 16 xmm values (256 bytes) in, rsi: 256 bytes out, rdx: 9 words in (r10's is 0),
//   rcx: 9 words out, r8: the deadline.
extern "C" long gt_registers_across_nanosleep(const uint64_t*, uint64_t*, const uint64_t*, uint64_t*, const timespec*);
// (an absolute deadline: the kernel restarts it with the same deadline, as the attach
// trampoline does; a relative sleep is a thread gputrace never stops)
asm(R"(
  .text
  .globl gt_registers_across_nanosleep
  .type gt_registers_across_nanosleep, @function
gt_registers_across_nanosleep:
  push %rbp
  push %rbx
  push %r12
  push %r13
  push %r14
  push %r15
  push %rsi
  push %rcx
  movdqu 0(%rdi), %xmm0
  movdqu 16(%rdi), %xmm1
  movdqu 32(%rdi), %xmm2
  movdqu 48(%rdi), %xmm3
  movdqu 64(%rdi), %xmm4
  movdqu 80(%rdi), %xmm5
  movdqu 96(%rdi), %xmm6
  movdqu 112(%rdi), %xmm7
  movdqu 128(%rdi), %xmm8
  movdqu 144(%rdi), %xmm9
  movdqu 160(%rdi), %xmm10
  movdqu 176(%rdi), %xmm11
  movdqu 192(%rdi), %xmm12
  movdqu 208(%rdi), %xmm13
  movdqu 224(%rdi), %xmm14
  movdqu 240(%rdi), %xmm15
  mov %r8, %rax
  mov 0(%rdx), %r8
  mov 8(%rdx), %r9
  mov 16(%rdx), %r10
  mov 24(%rdx), %r12
  mov 32(%rdx), %r13
  mov 40(%rdx), %r14
  mov 48(%rdx), %r15
  mov 56(%rdx), %rbx
  mov 64(%rdx), %rbp
  mov %rax, %rdx
  mov $1, %edi
  mov $1, %esi
  mov $230, %eax
  syscall
  pop %rcx
  mov %r8, 0(%rcx)
  mov %r9, 8(%rcx)
  mov %r10, 16(%rcx)
  mov %r12, 24(%rcx)
  mov %r13, 32(%rcx)
  mov %r14, 40(%rcx)
  mov %r15, 48(%rcx)
  mov %rbx, 56(%rcx)
  mov %rbp, 64(%rcx)
  pop %rsi
  movdqu %xmm0, 0(%rsi)
  movdqu %xmm1, 16(%rsi)
  movdqu %xmm2, 32(%rsi)
  movdqu %xmm3, 48(%rsi)
  movdqu %xmm4, 64(%rsi)
  movdqu %xmm5, 80(%rsi)
  movdqu %xmm6, 96(%rsi)
  movdqu %xmm7, 112(%rsi)
  movdqu %xmm8, 128(%rsi)
  movdqu %xmm9, 144(%rsi)
  movdqu %xmm10, 160(%rsi)
  movdqu %xmm11, 176(%rsi)
  movdqu %xmm12, 192(%rsi)
  movdqu %xmm13, 208(%rsi)
  movdqu %xmm14, 224(%rsi)
  movdqu %xmm15, 240(%rsi)
  pop %r15
  pop %r14
  pop %r13
  pop %r12
  pop %rbx
  pop %rbp
  ret
  .size gt_registers_across_nanosleep, .-gt_registers_across_nanosleep
)");

// 50 ms raw sleeps, the registers checked after each.
void register_keeper() {
  uint64_t want[32], got[32], gp_want[9], gp_got[9];
  for (int i = 0; i < 32; ++i) want[i] = 0x0123456789abcdefull * (i + 1);
  for (int i = 0; i < 9; ++i) gp_want[i] = 0xfeedface00000000ull + i;
  gp_want[2] = 0;  // r10: the call's fourth argument
  while (!g_stop.load()) {
    std::memset(got, 0, sizeof(got));
    std::memset(gp_got, 0, sizeof(gp_got));
    timespec t{};
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_nsec += 50'000'000;
    if (t.tv_nsec >= 1'000'000'000) t.tv_nsec -= 1'000'000'000, ++t.tv_sec;
    const long ret = gt_registers_across_nanosleep(want, got, gp_want, gp_got, &t);
    if (ret != 0) (ret == -EINTR ? g_eintr : g_failures)++;
    if (std::memcmp(want, got, sizeof(want)) != 0 || std::memcmp(gp_want, gp_got, sizeof(gp_want)) != 0)
      ++g_register_errors;
  }
}

void on_rt_signal(int) { g_rt_signals.fetch_add(1, std::memory_order_relaxed); }
void on_wake(int) {}

// The one thread that takes the test's SIGRTMIN signals (every other one blocks them), so
// that a signal never cuts a counted call short: any EINTR counted is gputrace's doing. It
// waits in ppoll with them unblocked for the wait only (no wake-up lost at the end).
pthread_t g_receiver;
void receiver() {
  sigset_t during;
  pthread_sigmask(SIG_BLOCK, nullptr, &during);
  sigdelset(&during, SIGRTMIN);
  sigdelset(&during, SIGUSR2);
  while (!g_stop.load()) ppoll(nullptr, 0, nullptr, &during);  // EINTR after each handler: expected
}

bool flag(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return true;
  return false;
}

// memfd_create kills the process; everything else is allowed.
bool kill_on_memfd_create() {
  sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_memfd_create, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(f) / sizeof(f[0])), f};
  return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
         syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog) == 0;
}

std::string arg(int argc, char** argv, const char* name, const char* fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string until = arg(argc, argv, "--until", "");
  const std::string driver = arg(argc, argv, "--driver", "");
  const int exit_code = std::atoi(arg(argc, argv, "--exit-code", "0").c_str());
  const std::string idle = arg(argc, argv, "--idle", "all");
  if (flag(argc, argv, "--nondumpable")) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  if (until.empty()) {
    std::fprintf(stderr,
                 "usage: attach_target --until FILE [--driver LIBCUDA] [--exit-code N] [--idle all|registers|none] "
                 "[--nondumpable] [--seccomp-kill-memfd]\n");
    return 2;
  }
  if (!driver.empty() && dlopen(driver.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    std::fprintf(stderr, "attach_target: %s\n", dlerror());
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_rt_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGRTMIN, &sa, nullptr);
  sa.sa_handler = on_wake;
  sigaction(SIGUSR2, &sa, nullptr);
  sigset_t blocked;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGRTMIN);
  sigaddset(&blocked, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &blocked, nullptr);  // every thread but the receiver inherits this
  if (pipe(g_ping) || pipe(g_pong) || pipe(g_idle_pipe)) return 2;
  std::vector<std::thread> threads;
  std::thread signals(receiver);
  g_receiver = signals.native_handle();
  threads.emplace_back(compute);
  threads.emplace_back(compute);
  threads.emplace_back(sleeper);
  threads.emplace_back(ping);
  threads.emplace_back(pong);
  threads.emplace_back(epoller);
  threads.emplace_back(launcher);
  if (idle != "none") {
    threads.emplace_back(register_keeper);
    threads.emplace_back(idle_reader);
  }
  if (idle == "all") {
    threads.emplace_back(idle_waiter);
    threads.emplace_back(idle_waiter);
  }
  if (flag(argc, argv, "--seccomp-kill-memfd") && !kill_on_memfd_create()) {
    std::fprintf(stderr, "attach_target: cannot install the seccomp filter: %s\n", std::strerror(errno));
    return 2;
  }
  // Until it ends, the main thread waits without being idle (a relative sleep).
  std::printf("ready %d\n", getpid());
  std::fflush(stdout);
  struct stat st {};
  while (stat(until.c_str(), &st) != 0) usleep(5000);
  g_stop = true;
  pthread_mutex_lock(&g_mu);
  pthread_cond_broadcast(&g_cv);
  pthread_mutex_unlock(&g_mu);
  (void)!write(g_idle_pipe[1], "x", 1);
  for (auto& t : threads) t.join();
  pthread_kill(g_receiver, SIGUSR2);
  signals.join();
  std::printf("mismatches=%llu sequence_errors=%llu eintr=%llu failures=%llu register_errors=%llu rt_signals=%llu\n",
              static_cast<unsigned long long>(g_mismatches.load()), static_cast<unsigned long long>(g_sequence_errors.load()),
              static_cast<unsigned long long>(g_eintr.load()), static_cast<unsigned long long>(g_failures.load()),
              static_cast<unsigned long long>(g_register_errors.load()),
              static_cast<unsigned long long>(g_rt_signals.load()));
  return exit_code;
}
