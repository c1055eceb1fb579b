// The entry points of libgputrace_cupti.so: InitializeInjection (called by libcuda's cuInit
// when CUDA_INJECTION64_PATH names this library), CUPTI's buffer callbacks, its
// context-created callback (which PCI device each CUDA device id is), the periodic flush
// thread and the exit handler.
//
// This code runs inside someone else's application: it never throws out of an entry point,
// never exits, and degrades to "not tracing" (with one line on stderr and a status record
// for the daemon) on every failure. Its state is allocated once and never destroyed, so
// CUPTI threads still completing buffers during exit never touch a destroyed object.
#include "cupti/activity_processor.h"
#include "cupti/clock_alignment.h"
#include "cupti/driver_devices.h"
#include "cupti/options.h"
#include "cupti/transport.h"

#include <cupti.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gputrace::cupti {
namespace {

// How often every kernel name and device record is sent again (ActivityProcessor::announce_again).
constexpr uint64_t kAnnounceAgainNs = 5'000'000'000;

struct Injection {
  Options options = Options::from_environment();
  DaemonTransport transport{options.socket_path};
  ClockAlignment clock;
  // The process that set CUPTI up. A fork()ed child inherits this memory but not CUPTI's
  // threads, nor the flush thread, and any of this state's mutexes may have been held by a
  // thread that does not exist there: the child does nothing CUPTI-related.
  const pid_t owner_pid = getpid();
  ActivityProcessor processor{transport, clock, static_cast<uint32_t>(owner_pid)};
  CUpti_SubscriberHandle subscriber = nullptr;
  uint32_t cupti_version = 0;
  std::mutex flush_mu;
  std::condition_variable flush_cv;
  bool stopping = false;
  std::thread flusher;
};

std::atomic<Injection*> g_injection{nullptr};
std::once_flag g_created;

Injection& injection() {
  std::call_once(g_created, [] {
    g_injection.store(new Injection(), std::memory_order_release);  // never freed: see above
    pthread_atfork(nullptr, nullptr, [] {
      if (Injection* in = g_injection.load(std::memory_order_acquire)) in->transport.forget_connection_after_fork();
    });
  });
  return *g_injection.load(std::memory_order_acquire);
}

bool in_forked_child(const Injection& in) { return getpid() != in.owner_pid; }

const char* result_name(CUptiResult r) {
  const char* s = nullptr;
  if (cuptiGetResultString(r, &s) != CUPTI_SUCCESS || s == nullptr) return "unknown CUPTI error";
  return s;
}

void say(const std::string& line) { std::fprintf(stderr, "gputrace-cupti[%d]: %s\n", getpid(), line.c_str()); }

void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  const size_t bytes = injection().options.buffer_bytes;
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, bytes));  // CUPTI needs 8-byte alignment
  *size = *buffer ? bytes : 0;
  *max_records = 0;  // as many as fit
}

void CUPTIAPI buffer_completed(CUcontext context, uint32_t stream, uint8_t* buffer, size_t, size_t valid) {
  try {
    Injection& in = injection();
    if (in_forked_child(in)) {
      std::free(buffer);
      return;
    }
    if (buffer && valid) in.processor.process_buffer(buffer, valid);
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(context, stream, &dropped) == CUPTI_SUCCESS && dropped)
      in.processor.add_cupti_dropped(dropped);
  } catch (...) {
    // Out of memory while interning a name: lose this buffer, keep the application.
  }
  std::free(buffer);
}

uint64_t CUPTIAPI monotonic_timestamp() { return ClockAlignment::monotonic_now(); }

bool read_cupti_clock(uint64_t& ts) { return cuptiGetTimestamp(&ts) == CUPTI_SUCCESS; }

void flush_once(Injection& in, uint64_t& last_announce_ns) {
  // Recalibrate first: CUPTI's fallback clock is realtime, which NTP slews and steps.
  if (in.clock.mode() == GT_GPU_CLOCK_CALIBRATED) in.clock.calibrate(read_cupti_clock, 16);
  cuptiActivityFlushAll(0);  // hands over completed buffers that are not yet full
  if (const uint64_t now = ClockAlignment::monotonic_now(); now - last_announce_ns >= kAnnounceAgainNs) {
    in.processor.announce_again();
    last_announce_ns = now;
  }
  in.processor.send_status(false);
}

void flush_loop(Injection& in) noexcept {
  try {
    uint64_t last_announce_ns = ClockAlignment::monotonic_now();
    std::unique_lock lock(in.flush_mu);
    while (!in.flush_cv.wait_for(lock, std::chrono::milliseconds(in.options.flush_ms), [&] { return in.stopping; })) {
      lock.unlock();
      try {
        flush_once(in, last_announce_ns);
      } catch (...) {
        // Out of memory in this round: the next one tries again.
      }
      lock.lock();
    }
  } catch (...) {
    // The thread ends; buffers are still handed over when full and at exit.
  }
}

// The flush thread must not take the application's signals: a handler the application wrote
// for its own threads (or sigwait in a dedicated thread) would run or be missed here. It is
// created with every signal blocked and inherits that mask.
bool start_flush_thread(Injection& in) {
  sigset_t all, old;
  sigfillset(&all);
  // Except the ones a fault raises in the thread itself: blocked, the kernel kills the
  // process outright and the application's crash handler never runs.
  for (int fault : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS}) sigdelset(&all, fault);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  bool started = false;
  try {
    in.flusher = std::thread(flush_loop, std::ref(in));
    started = true;
  } catch (...) {
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  if (started) pthread_setname_np(in.flusher.native_handle(), "gputrace-cupti");
  return started;
}

void at_exit() {
  Injection* in = g_injection.load(std::memory_order_acquire);
  // In a forked child: no flush thread to join (joining its copy would wait forever), CUPTI
  // is the parent's, and the mutexes may be held by threads that were not copied.
  if (in == nullptr || in_forked_child(*in)) return;
  try {
    {
      std::lock_guard lock(in->flush_mu);
      in->stopping = true;
    }
    in->flush_cv.notify_all();
    if (in->flusher.joinable()) in->flusher.join();
    cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);  // the last, partly filled buffers too
    in->processor.set_state(GT_GPU_STATE_EXITING, CUPTI_SUCCESS, in->cupti_version, "");
    in->processor.send_status(true);
  } catch (...) {
    // Exiting anyway: what was not sent is lost.
  }
}

// Learns which PCI device CUDA device `device_id` is, once per device. The record goes out
// ahead of the device's first activity (RecordConverter); a device the driver cannot describe
// gets no record, one line on stderr, and the daemon's fallback (PCI address order).
void describe_device(Injection& in, uint32_t device_id) {
  if (in.processor.device_known(device_id)) return;
  static const DriverDeviceApi driver = DriverDeviceApi::from_loaded_driver();
  const DeviceQuery q = query_device(driver, device_id);
  if (q.record) {
    in.processor.add_device(*q.record);
  } else if (in.processor.add_unresolved_device(device_id)) {
    say("cannot read the PCI address of CUDA device " + std::to_string(device_id) + " (" + q.error +
        "): gputrace will assume CUDA numbers its devices in PCI address order");
  }
}

// CUPTI's callback for the subscriber: only CONTEXT_CREATED is enabled. It runs on the thread
// creating the context, before any activity on it, and its device id is the one CUPTI puts in
// that context's activity records.
void CUPTIAPI on_cupti_callback(void*, CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const void* data) {
  if (domain != CUPTI_CB_DOMAIN_RESOURCE || cbid != CUPTI_CBID_RESOURCE_CONTEXT_CREATED || data == nullptr) return;
  try {
    if (in_forked_child(injection())) return;
    const auto* resource = static_cast<const CUpti_ResourceData*>(data);
    uint32_t device_id = 0;
    if (const CUptiResult r = cuptiGetDeviceId(resource->context, &device_id); r != CUPTI_SUCCESS) {
      static std::atomic<bool> said{false};
      if (!said.exchange(true))
        say(std::string("cuptiGetDeviceId failed (") + result_name(r) +
            "): gputrace will assume CUDA numbers its devices in PCI address order");
      return;
    }
    describe_device(injection(), device_id);
  } catch (...) {
    // Out of memory: the daemon falls back to PCI order for this device.
  }
}

// Claims CUPTI's single subscriber slot. Without it another tool (Nsight Systems, Kineto,
// DCGM profiling) may own the activity API, and registering our buffers would steal its data.
CUptiResult subscribe(Injection& in, std::string& holder) {
#ifdef CUpti_SubscriberParams_STRUCT_SIZE
  char other[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN + 1] = {};
  CUpti_SubscriberParams params{};
  params.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
  params.subscriberName = "gputrace";
  params.oldSubscriberName = other;
  params.oldSubscriberSize = CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN;
  const CUptiResult r = cuptiSubscribe_v2(&in.subscriber, on_cupti_callback, nullptr, &params);
  holder = other;
#else
  // CUPTI before cuptiSubscribe_v2 does not say who holds the slot.
  const CUptiResult r = cuptiSubscribe(&in.subscriber, on_cupti_callback, nullptr);
#endif
  if (holder.empty()) holder = "an unnamed CUPTI client";
  return r;
}

void fail(Injection& in, gt_gpu_state state, CUptiResult r, uint32_t version, const std::string& holder,
          const std::string& line) {
  say(line);
  in.processor.set_state(state, r, version, holder);
  in.processor.send_status(true);
}

void set_up_clock(Injection& in) {
  // Must precede cuptiActivityEnable: CUPTI fixes its clock when the first kind is enabled.
  if (cuptiActivityRegisterTimestampCallback(monotonic_timestamp) == CUPTI_SUCCESS) {
    in.clock.use_callback();
  } else if (!in.clock.calibrate(read_cupti_clock, 200)) {
    say("CUPTI refused the CLOCK_MONOTONIC timestamp callback and cuptiGetTimestamp failed: GPU timestamps "
        "will not line up with other gputrace events");
  }
}

// API records name their thread by CUPTI's default id, pthread_self() (an address), unless
// told to use the kernel's thread id, which is what gputrace correlates on.
bool use_system_thread_ids() {
  if (const CUptiResult r = cuptiSetThreadIdType(CUPTI_ACTIVITY_THREAD_ID_TYPE_SYSTEM); r != CUPTI_SUCCESS) {
    say(std::string("cuptiSetThreadIdType(SYSTEM) failed (") + result_name(r) +
        "): CUDA API calls will not be traced (their thread ids would not be the kernel's)");
    return false;
  }
  return true;
}

// False when none of the activity gputrace exists for could be enabled.
bool enable_kinds(Injection& in) {
  const bool api = in.options.api && use_system_thread_ids();
  const struct {
    CUpti_ActivityKind kind;
    bool wanted;
    bool core;  // kernels, copies, memsets: without any of them there is nothing to trace
    const char* name;
  } kinds[] = {
      // CONCURRENT_KERNEL, not KERNEL: KERNEL serialises every kernel launch.
      {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, true, true, "CONCURRENT_KERNEL"},
      {CUPTI_ACTIVITY_KIND_MEMCPY, true, true, "MEMCPY"},
      {CUPTI_ACTIVITY_KIND_MEMSET, true, true, "MEMSET"},
      {CUPTI_ACTIVITY_KIND_RUNTIME, api, false, "RUNTIME"},
      {CUPTI_ACTIVITY_KIND_DRIVER, api, false, "DRIVER"},
      {CUPTI_ACTIVITY_KIND_MEMORY2, in.options.memory, false, "MEMORY2"},
  };
  bool any_core = false;
  std::vector<CUpti_ActivityKind> enabled;
  for (const auto& k : kinds) {
    if (!k.wanted) continue;
    if (const CUptiResult r = cuptiActivityEnable(k.kind); r != CUPTI_SUCCESS) {
      say(std::string("cannot enable CUPTI activity kind ") + k.name + ": " + result_name(r));
    } else {
      enabled.push_back(k.kind);
      any_core = any_core || k.core;
    }
  }
  // Nothing worth tracing: leave nothing on either (CUPTI would go on filling buffers).
  if (!any_core)
    for (CUpti_ActivityKind kind : enabled) cuptiActivityDisable(kind);
  return any_core;
}

// Gives CUPTI's subscriber slot back, so that a profiler started later in the process can
// have it, when gputrace could claim it but not use it.
void release_cupti(Injection& in) {
  if (in.subscriber == nullptr) return;
  cuptiUnsubscribe(in.subscriber);
  in.subscriber = nullptr;
}

// A libcupti newer than the headers this library was built with may emit record versions
// they do not describe (activity_layout.h reads fields by offset, checked against them).
void check_runtime_version(uint32_t runtime) {
  // From CUDA 13 the version is xxyyzz and zz is CUPTI's patch level, which keeps the records.
  const auto release = [](uint32_t v) { return v >= 130000 ? v / 100 : v; };
#ifdef GPUTRACE_CUPTI_LAYOUT_UNVERIFIED
  say("this library was built against CUPTI headers (API " + std::to_string(CUPTI_API_VERSION) +
      ") newer than the record layouts gputrace has verified (CUDA 13.1): GPU records may be misread");
#endif
  if (release(runtime) > release(CUPTI_API_VERSION))
    say("libcupti reports API version " + std::to_string(runtime) + ", newer than the " +
        std::to_string(CUPTI_API_VERSION) +
        " this library was built against: if GPU records look wrong, rebuild gputrace against this CUDA toolkit");
}

int initialize() {
  Injection& in = injection();
  for (const std::string& problem : in.options.problems) say(problem);
  uint32_t version = 0;
  if (cuptiGetVersion(&version) == CUPTI_SUCCESS) check_runtime_version(version);
  in.cupti_version = version;
  std::string holder;
  if (const CUptiResult r = subscribe(in, holder); r != CUPTI_SUCCESS) {
    in.subscriber = nullptr;
    if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED)
      fail(in, GT_GPU_STATE_OTHER_SUBSCRIBER, r, version, holder,
           "CUPTI is already in use by " + holder +
               " in this process: gputrace cannot trace its GPU kernels and copies. Stop that profiler "
               "(or run without it) to let gputrace trace.");
    else
      fail(in, GT_GPU_STATE_CUPTI_FAILED, r, version, "",
           std::string("cuptiSubscribe failed (") + result_name(r) + "): GPU activity will not be traced");
    return 1;  // the application goes on untraced
  }
  set_up_clock(in);
  if (const CUptiResult r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed); r != CUPTI_SUCCESS) {
    release_cupti(in);
    fail(in, GT_GPU_STATE_CUPTI_FAILED, r, version, "",
         std::string("cuptiActivityRegisterCallbacks failed (") + result_name(r) + "): GPU activity will not be traced");
    return 1;
  }
  if (!enable_kinds(in)) {
    release_cupti(in);
    fail(in, GT_GPU_STATE_CUPTI_FAILED, CUPTI_ERROR_UNKNOWN, version, "",
         "no CUPTI activity kind could be enabled: GPU activity will not be traced");
    return 1;
  }
  // No context exists yet (this runs inside cuInit): every device's context creation is seen.
  if (const CUptiResult r =
          cuptiEnableCallback(1, in.subscriber, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED);
      r != CUPTI_SUCCESS)
    say(std::string("cannot enable CUPTI's context-created callback (") + result_name(r) +
        "): gputrace will assume CUDA numbers its devices in PCI address order");
  in.processor.set_state(GT_GPU_STATE_ACTIVE, CUPTI_SUCCESS, version, "");
  in.processor.send_status(true);
  if (!start_flush_thread(in))
    say("cannot start the flush thread: GPU activity arrives only as CUPTI buffers fill, and at exit");
  // After the thread exists: an exit() on another thread must not find it half assigned. The
  // final flush happens even without the flush thread: full buffers still arrive.
  std::atexit(at_exit);
  return 1;
}

}  // namespace
}  // namespace gputrace::cupti

using gputrace::cupti::injection;

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
    injection().processor.process_buffer(buffer, valid);
  } catch (...) {
  }
}

// What the context-created callback does for CUDA device `device_id`, against the driver
// already loaded in the process (none in the tests: the device stays unresolved).
extern "C" __attribute__((visibility("default"))) void gputrace_cupti_test_describe_device(uint32_t device_id) {
  try {
    gputrace::cupti::describe_device(injection(), device_id);
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
    return record && injection().processor.add_device(*record) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

extern "C" __attribute__((visibility("default"))) int gputrace_cupti_test_send_raw(const void* bytes, size_t len) {
  try {
    return injection().processor.send_raw({static_cast<const std::byte*>(bytes), len}) ? 1 : 0;
  } catch (...) {
    return 0;
  }
}
