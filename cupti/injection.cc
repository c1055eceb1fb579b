// The entry points of libgputrace_cupti.so: InitializeInjection (called by libcuda's cuInit
// when CUDA_INJECTION64_PATH names this library), CUPTI's buffer callbacks, its
// context-created callback (which PCI device each CUDA device id is), the periodic flush
// thread and the exit handler.
//
// This code runs inside someone else's application: it never throws out of an entry point,
// never exits, and degrades to "not tracing" (with one line on stderr and a status record
// for the daemon) on every failure. Its state is allocated once and never destroyed, so
// CUPTI threads still completing buffers during exit never touch a destroyed object.
#include "activity_processor.h"
#include "clock_alignment.h"
#include "driver_devices.h"
#include "options.h"
#include "transport.h"

#include <cupti.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>

namespace gputrace::cupti {
namespace {

struct Injection {
  Options options = Options::from_environment();
  DaemonTransport transport{options.socket_path};
  ClockAlignment clock;
  ActivityProcessor processor{transport, clock, static_cast<uint32_t>(getpid())};
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

void flush_loop(Injection& in) {
  std::unique_lock lock(in.flush_mu);
  while (!in.flush_cv.wait_for(lock, std::chrono::milliseconds(in.options.flush_ms), [&] { return in.stopping; })) {
    lock.unlock();
    // Recalibrate first: CUPTI's fallback clock is realtime, which NTP slews and steps.
    if (in.clock.mode() == GT_GPU_CLOCK_CALIBRATED) in.clock.calibrate(read_cupti_clock, 16);
    cuptiActivityFlushAll(0);  // hands over completed buffers that are not yet full
    in.processor.send_status(false);
    lock.lock();
  }
}

void at_exit() {
  Injection* in = g_injection.load(std::memory_order_acquire);
  if (in == nullptr) return;
  {
    std::lock_guard lock(in->flush_mu);
    in->stopping = true;
  }
  in->flush_cv.notify_all();
  if (in->flusher.joinable()) in->flusher.join();
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);  // the last, partly filled buffers too
  in->processor.set_state(GT_GPU_STATE_EXITING, CUPTI_SUCCESS, in->cupti_version, "");
  in->processor.send_status(true);
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

void enable_kinds(Injection& in) {
  const struct {
    CUpti_ActivityKind kind;
    bool wanted;
    const char* name;
  } kinds[] = {
      // CONCURRENT_KERNEL, not KERNEL: KERNEL serialises every kernel launch.
      {CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL, true, "CONCURRENT_KERNEL"},
      {CUPTI_ACTIVITY_KIND_MEMCPY, true, "MEMCPY"},
      {CUPTI_ACTIVITY_KIND_MEMSET, true, "MEMSET"},
      {CUPTI_ACTIVITY_KIND_RUNTIME, in.options.api, "RUNTIME"},
      {CUPTI_ACTIVITY_KIND_DRIVER, in.options.api, "DRIVER"},
      {CUPTI_ACTIVITY_KIND_MEMORY2, in.options.memory, "MEMORY2"},
  };
  for (const auto& k : kinds) {
    if (!k.wanted) continue;
    if (const CUptiResult r = cuptiActivityEnable(k.kind); r != CUPTI_SUCCESS)
      say(std::string("cannot enable CUPTI activity kind ") + k.name + ": " + result_name(r));
  }
}

int initialize() {
  Injection& in = injection();
  uint32_t version = 0;
  cuptiGetVersion(&version);
  in.cupti_version = version;
  std::string holder;
  if (const CUptiResult r = subscribe(in, holder); r != CUPTI_SUCCESS) {
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
    fail(in, GT_GPU_STATE_CUPTI_FAILED, r, version, "",
         std::string("cuptiActivityRegisterCallbacks failed (") + result_name(r) + "): GPU activity will not be traced");
    return 1;
  }
  enable_kinds(in);
  // No context exists yet (this runs inside cuInit): every device's context creation is seen.
  if (const CUptiResult r =
          cuptiEnableCallback(1, in.subscriber, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED);
      r != CUPTI_SUCCESS)
    say(std::string("cannot enable CUPTI's context-created callback (") + result_name(r) +
        "): gputrace will assume CUDA numbers its devices in PCI address order");
  in.processor.set_state(GT_GPU_STATE_ACTIVE, CUPTI_SUCCESS, version, "");
  in.processor.send_status(true);
  in.flusher = std::thread(flush_loop, std::ref(in));
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
