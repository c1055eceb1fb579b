// LibraryState: everything the injection library keeps for the life of the process: its
// settings, the transport to gputrace, the clock alignment, the activity processor, what it
// told CUPTI (subscriber, enabled kinds), and whether it traces (started by cuInit, attached
// by `gputrace attach`, or inert). Allocated once, never destroyed: CUPTI threads still
// completing buffers during exit never touch a destroyed object.
#pragma once

#include "cupti/activity_processor.h"
#include "cupti/clock_alignment.h"
#include "cupti/options.h"
#include "cupti/transport.h"
#include "cupti/worker.h"

extern "C" {
#include "bpf/gpu_attach.h"
}

#include <cupti.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

namespace gputrace::cupti {

struct LibraryState {
  Options options = Options::from_environment();  // replaced by each `gputrace attach`
  DaemonTransport transport{options.socket_path};
  ClockAlignment clock;
  // The process that set CUPTI up. A fork()ed child inherits this memory but not CUPTI's
  // threads, nor the library's thread, and any of this state's mutexes may have been held by
  // a thread that does not exist there: the child does nothing CUPTI-related.
  const pid_t owner_pid = getpid();
  ActivityProcessor processor{transport, clock, static_cast<uint32_t>(owner_pid)};

  // Serialises starting and stopping (cuInit, an attach, a detach, exit). Never held while
  // waiting for the worker, which takes it to detach.
  std::mutex lifecycle_mu;
  gt_attach_mode mode = GT_ATTACH_MODE_INERT;
  CUpti_SubscriberHandle subscriber = nullptr;
  uint32_t cupti_version = 0;
  std::vector<CUpti_ActivityKind> enabled;  // what a detach disables again
  bool callbacks_registered = false;
  bool exit_handler_registered = false;

  std::atomic<int> buffers_out{0};  // handed to CUPTI, not yet completed
  Worker worker;
};

// Created on first use.
LibraryState& library();
// nullptr before the first use (the exit and fork handlers must not create it).
LibraryState* library_if_created();

inline bool in_forked_child(const LibraryState& s) { return getpid() != s.owner_pid; }

// One line on the application's stderr, "gputrace-cupti[PID]: ...".
void say(const std::string& line);

// Publishes the library's mode (and control socket) for tracers that read
// gputrace_cupti_attach_info from the process's memory.
void publish_mode(gt_attach_mode mode, const std::string& control = {});
void publish_region(uint64_t region, uint64_t size);

}  // namespace gputrace::cupti
