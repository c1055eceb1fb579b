// attach_target: a busy multithreaded stand-in for a CUDA service, for `gputrace attach` tests.
// Its threads compute in loops, ping-pong over pipes, sleep in short nanosleeps, wait in
// epoll_wait on a 1 ms timer, and idle in condition waits and a pipe read; one "launches
// kernels" through the stand-in libcupti when it is preloaded (standin_cupti.cc). With
// --driver PATH it loads that file as its CUDA driver (the stand-in libcuda.so.1).
//
// It runs until the file --until names exists, then joins everything and prints only what
// must not depend on gputrace having attached: the compute checksums' mismatches, the pipe
// sequence errors, EINTRs seen in epoll_wait, nanosleep and read, failed calls, and how many
// SIGRTMIN signals its handler saw; and exits with --exit-code. Prints "ready PID" once all
// threads run.
#include <dlfcn.h>
#include <fcntl.h>
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
std::atomic<uint64_t> g_mismatches{0}, g_sequence_errors{0}, g_eintr{0}, g_failures{0}, g_rt_signals{0};

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

void on_rt_signal(int) { g_rt_signals.fetch_add(1, std::memory_order_relaxed); }

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
  if (until.empty()) {
    std::fprintf(stderr, "usage: attach_target --until FILE [--driver LIBCUDA] [--exit-code N]\n");
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
  if (pipe(g_ping) || pipe(g_pong) || pipe(g_idle_pipe)) return 2;
  std::vector<std::thread> threads;
  threads.emplace_back(compute);
  threads.emplace_back(compute);
  threads.emplace_back(sleeper);
  threads.emplace_back(ping);
  threads.emplace_back(pong);
  threads.emplace_back(epoller);
  threads.emplace_back(idle_waiter);
  threads.emplace_back(idle_waiter);
  threads.emplace_back(idle_reader);
  threads.emplace_back(launcher);
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
  std::printf("mismatches=%llu sequence_errors=%llu eintr=%llu failures=%llu rt_signals=%llu\n",
              static_cast<unsigned long long>(g_mismatches.load()), static_cast<unsigned long long>(g_sequence_errors.load()),
              static_cast<unsigned long long>(g_eintr.load()), static_cast<unsigned long long>(g_failures.load()),
              static_cast<unsigned long long>(g_rt_signals.load()));
  return exit_code;
}
