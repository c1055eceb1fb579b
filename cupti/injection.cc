// The entry point libcuda calls (InitializeInjection, from cuInit, when CUDA_INJECTION64_PATH
// names this library), its exit handler, and the test hooks. Attaching to a process that is
// already running is attach_entry.cc; what both share (CUPTI's lifecycle, callbacks, flush
// work) is cupti_session.cc, the library's thread worker.cc.
//
// This code runs inside someone else's application: it never throws out of an entry point,
// never exits, and degrades to "not tracing" (with one line on stderr and a status record
// for the daemon) on every failure.
#include "cupti/cupti_session.h"
#include "cupti/library_state.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

namespace gputrace::cupti {
namespace {

// At exit, whichever way the library got in: stop the worker (without detaching: the process
// ends anyway), then the last buffers and the status GT_GPU_STATE_EXITING.
void at_exit() {
  LibraryState* s = library_if_created();
  // In a forked child: no worker to stop, CUPTI is the parent's, and the mutexes may be held
  // by threads that were not copied.
  if (s == nullptr || in_forked_child(*s)) return;
  try {
    s->worker.stop(std::chrono::milliseconds(1000));
    std::lock_guard lock(s->lifecycle_mu);
    if (s->mode == GT_ATTACH_MODE_INERT) return;
    final_flush(*s);
  } catch (...) {
    // Exiting anyway: what was not sent is lost.
  }
}

}  // namespace

// Registers the exit handler once, whichever entry point runs first. Caller holds lifecycle_mu.
void register_exit_handler(LibraryState& s) {
  if (s.exit_handler_registered) return;
  std::atexit(at_exit);
  s.exit_handler_registered = true;
}

// Both entry points' flush work, on the worker.
std::function<void()> periodic_flush(LibraryState& s) {
  return [&s, last_announce = ClockAlignment::monotonic_now()]() mutable { flush_period(s, last_announce); };
}

namespace {

int initialize() {
  LibraryState& s = library();
  std::lock_guard lock(s.lifecycle_mu);
  if (s.mode != GT_ATTACH_MODE_INERT) return 1;  // `gputrace attach` got here first
  if (start_tracing(s, false).state != GT_GPU_STATE_ACTIVE) return 1;  // the application goes on untraced
  s.mode = GT_ATTACH_MODE_STARTUP;
  publish_mode(GT_ATTACH_MODE_STARTUP);
  if (!s.worker.start({periodic_flush(s), nullptr, nullptr}, s.options.flush_ms, std::chrono::milliseconds(0)))
    say("cannot start the flush thread: GPU activity arrives only as CUPTI buffers fill, and at exit");
  // After the thread exists: an exit() on another thread must not find it half started. The
  // final flush happens even without the worker: full buffers still arrive.
  register_exit_handler(s);
  return 1;
}

}  // namespace
}  // namespace gputrace::cupti

using gputrace::cupti::library;

// Looked up by libcuda (dlsym) after it dlopen()s CUDA_INJECTION64_PATH, from cuInit.
// Non-zero means success. Called at most once per process by libcuda; guarded anyway.
extern "C" __attribute__((visibility("default"))) int InitializeInjection(void) {
  static std::atomic<bool> called{false};
  if (called.exchange(true)) return 1;
  try {
    return gputrace::cupti::initialize();
  } catch (...) {
    return 1;  // never break the application
  }
}

// Test interface, for tests without a GPU: runs a hand-made CUPTI buffer through the same path
// as buffer_completed, and sends arbitrary bytes through the transport. Harmless in an
// application, which never calls them.
extern "C" __attribute__((visibility("default"))) void gputrace_cupti_test_process_buffer(uint8_t* buffer,
                                                                                            size_t valid) {
  try {
    library().processor.process_buffer(buffer, valid);
  } catch (...) {
  }
}

// What the context-created callback does for CUDA device `device_id`, against the driver
// already loaded in the process (none in the tests: the device stays unresolved).
extern "C" __attribute__((visibility("default"))) void gputrace_cupti_test_describe_device(uint32_t device_id) {
  try {
    gputrace::cupti::describe_device(library(), device_id);
  } catch (...) {
  }
}

// Registers a device as the driver would have described it, for the emitter's batches.
extern "C" __attribute__((visibility("default"))) int gputrace_cupti_test_add_device(uint32_t device_id,
                                                                                      uint32_t pci_domain,
                                                                                      uint32_t pci_bus,
                                                                                      uint32_t pci_device,
                                                                                      const char* name) {
  try {
    const auto record = gputrace::cupti::make_device_record(device_id, pci_domain, pci_bus, pci_device,
                                                            name ? name : "");
    return record && library().processor.add_device(*record) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

extern "C" __attribute__((visibility("default"))) int gputrace_cupti_test_send_raw(const void* bytes, size_t len) {
  try {
    return library().processor.send_raw({static_cast<const std::byte*>(bytes), len}) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}
