#include "cupti/worker.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>
#include <vector>

namespace gputrace::cupti {

bool Worker::start(Tasks tasks, unsigned flush_ms, std::chrono::milliseconds lease_grace) {
  if (running()) return false;
  tasks_ = std::move(tasks);
  flush_ms_ = flush_ms;
  lease_grace_ = lease_grace;
  stop_.store(false);
  ending_.store(false);
  if (wake_fd_ < 0) wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  // Every signal blocked but the ones a fault raises in the thread itself: blocked, those
  // would kill the process outright and the application's crash handler would never run.
  sigset_t all, old;
  sigfillset(&all);
  for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) sigdelset(&all, fault);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  running_.store(true, std::memory_order_release);
  bool started = false;
  try {
    std::thread t([this] { loop(); });
    pthread_setname_np(t.native_handle(), "gputrace-cupti");
    t.detach();  // it ends by itself (detach) or with the process
    started = true;
  } catch (...) {
    running_.store(false, std::memory_order_release);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  return started;
}

bool Worker::leases_gone(std::chrono::steady_clock::time_point grace_end) const {
  if (!control_.is_open() || control_.leases() > 0) return false;
  return control_.ever_leased() || std::chrono::steady_clock::now() >= grace_end;
}

void Worker::loop() {
  using clock = std::chrono::steady_clock;
  const auto flush_period = std::chrono::milliseconds(flush_ms_);
  const auto grace_end = clock::now() + lease_grace_;
  auto next_flush = clock::now() + flush_period;
  bool detach = false;
  std::vector<pollfd> fds;
  while (!stop_.load(std::memory_order_acquire)) {
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    control_.add_pollfds(fds);
    const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next_flush - clock::now());
    ::poll(fds.data(), fds.size(), static_cast<int>(std::max<int64_t>(0, wait.count())));
    if (fds[0].revents) {
      uint64_t n;
      (void)!::read(wake_fd_, &n, sizeof(n));
    }
    if (stop_.load(std::memory_order_acquire)) break;
    try {
      if (control_.is_open() && tasks_.control && control_.serve(fds, *tasks_.control)) detach = true;
      if (detach || leases_gone(grace_end)) {
        detach = true;
        break;
      }
      if (clock::now() >= next_flush) {
        if (tasks_.flush) tasks_.flush();
        next_flush = clock::now() + flush_period;
      }
    } catch (...) {
      // Out of memory in this round: the next one tries again.
    }
  }
  ending_.store(true, std::memory_order_release);
  if (detach && tasks_.detach) {
    try {
      tasks_.detach();
    } catch (...) {
    }
  }
  control_.close_all();  // tracers see their connection end: the detach is complete
  running_.store(false, std::memory_order_release);
}

bool Worker::wait_ended(std::chrono::milliseconds limit) const {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (running()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    ::usleep(1000);
  }
  return true;
}

void Worker::stop(std::chrono::milliseconds limit) {
  stop_.store(true, std::memory_order_release);
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof(one));
  }
  wait_ended(limit);
}

void Worker::forget_after_fork() {
  control_.forget_after_fork();
  running_.store(false);
  stop_.store(true);
}

}  // namespace gputrace::cupti
