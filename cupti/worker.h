// Worker: the library's own thread. Every flush period it collects CUPTI's finished buffers;
// started by `gputrace attach`, it also serves the control socket (ControlServer) and, when
// the last lease is gone (or no tracer took one in time, or one asked), does the detach work
// and ends. It is created with every signal blocked but the faults, so the application's
// signals never land on it, and is named "gputrace-cupti".
#pragma once

#include "cupti/control_server.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <string>

namespace gputrace::cupti {

class Worker {
 public:
  struct Tasks {
    std::function<void()> flush;                // one flush period's work
    ControlServer::Handler* control = nullptr;  // attached: answers tracers
    std::function<void()> detach;               // attached: stop tracing (runs on the worker)
  };

  Worker() = default;
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Attached mode: binds the control socket before start(); its name is control_name().
  bool open_control(std::string& error) { return control_.open(error); }
  const std::string& control_name() const { return control_.name(); }

  // Starts the thread. With the control socket open, it ends once no tracer holds a lease:
  // at once when the last one closes, or after lease_grace if none ever came.
  bool start(Tasks tasks, unsigned flush_ms, std::chrono::milliseconds lease_grace);
  bool running() const { return running_.load(std::memory_order_acquire); }
  // The loop has ended and the detach work is under way (or done).
  bool ending() const { return ending_.load(std::memory_order_acquire); }
  // Waits up to `limit` for the thread to end by itself (a detach in progress).
  bool wait_ended(std::chrono::milliseconds limit) const;
  // At process exit: ends the loop without its detach work; waits up to `limit`.
  void stop(std::chrono::milliseconds limit);
  // In a fork()ed child, where the thread does not exist.
  void forget_after_fork();

 private:
  void loop();
  bool leases_gone(std::chrono::steady_clock::time_point grace_end) const;

  Tasks tasks_;
  unsigned flush_ms_ = 100;
  std::chrono::milliseconds lease_grace_{10'000};
  ControlServer control_;
  int wake_fd_ = -1;
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> ending_{false};
};

}  // namespace gputrace::cupti
