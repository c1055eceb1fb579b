#include "cupti/cupti_session.h"

#include "cupti/driver_devices.h"

#include <atomic>
#include <cstdlib>
#include <vector>

namespace gputrace::cupti {
namespace {

// How often every kernel name and device record is sent again (ActivityProcessor::announce_again).
constexpr uint64_t kAnnounceAgainNs = 5'000'000'000;

// CUPTI asks for a buffer on the application's thread that launches work: no waiting here.
// Past GPUTRACE_CUPTI_MAX_BUFFERS out at once it gets none, and drops (and counts) records.
void CUPTIAPI buffer_requested(uint8_t** buffer, size_t* size, size_t* max_records) {
  LibraryState& s = library();
  *buffer = nullptr;
  *size = 0;
  *max_records = 0;  // as many as fit
  if (s.buffers_out.fetch_add(1, std::memory_order_relaxed) >= static_cast<int>(s.options.max_buffers)) {
    s.buffers_out.fetch_sub(1, std::memory_order_relaxed);
    s.processor.add_buffer_refused();
    return;
  }
  const size_t bytes = s.options.buffer_bytes;
  *buffer = static_cast<uint8_t*>(std::aligned_alloc(8, bytes));  // CUPTI needs 8-byte alignment
  if (*buffer == nullptr) {
    s.buffers_out.fetch_sub(1, std::memory_order_relaxed);
    return;
  }
  *size = bytes;
}

void CUPTIAPI buffer_completed(CUcontext context, uint32_t stream, uint8_t* buffer, size_t, size_t valid) {
  try {
    LibraryState& s = library();
    if (buffer) s.buffers_out.fetch_sub(1, std::memory_order_relaxed);
    if (in_forked_child(s)) {
      std::free(buffer);
      return;
    }
    if (buffer && valid) s.processor.process_buffer(buffer, valid);
    size_t dropped = 0;
    if (cuptiActivityGetNumDroppedRecords(context, stream, &dropped) == CUPTI_SUCCESS && dropped)
      s.processor.add_cupti_dropped(dropped);
  } catch (...) {
    // Out of memory while interning a name: lose this buffer, keep the application.
  }
  std::free(buffer);
}

uint64_t CUPTIAPI monotonic_timestamp() { return ClockAlignment::monotonic_now(); }

bool read_cupti_clock(uint64_t& ts) { return cuptiGetTimestamp(&ts) == CUPTI_SUCCESS; }

// CUPTI's callback for the subscriber: only CONTEXT_CREATED is enabled. It runs on the thread
// creating the context, before any activity on it, and its device id is the one CUPTI puts in
// that context's activity records.
void CUPTIAPI on_cupti_callback(void*, CUpti_CallbackDomain domain, CUpti_CallbackId cbid, const void* data) {
  if (domain != CUPTI_CB_DOMAIN_RESOURCE || cbid != CUPTI_CBID_RESOURCE_CONTEXT_CREATED || data == nullptr) return;
  try {
    if (in_forked_child(library())) return;
    const auto* resource = static_cast<const CUpti_ResourceData*>(data);
    uint32_t device_id = 0;
    if (const CUptiResult r = cuptiGetDeviceId(resource->context, &device_id); r != CUPTI_SUCCESS) {
      static std::atomic<bool> said{false};
      if (!said.exchange(true))
        say(std::string("cuptiGetDeviceId failed (") + result_name(r) +
            "): gputrace will assume CUDA numbers its devices in PCI address order");
      return;
    }
    describe_device(library(), device_id);
  } catch (...) {
    // Out of memory: the daemon falls back to PCI order for this device.
  }
}

const DriverDeviceApi& driver() {
  static const DriverDeviceApi api = DriverDeviceApi::from_loaded_driver();
  return api;
}

// Attached after cuInit: the contexts that exist were created before CUPTI could call back.
void describe_existing_devices(LibraryState& s) {
  int count = 0;
  if (driver().get_count == nullptr || driver().get_count(&count) != CUDA_SUCCESS) return;
  for (int d = 0; d < count && d < 64; ++d) describe_device(s, static_cast<uint32_t>(d));
}

// Claims CUPTI's single subscriber slot. Without it another tool (Nsight Systems, Kineto,
// DCGM profiling) may own the activity API, and registering our buffers would steal its data.
CUptiResult subscribe(LibraryState& s, std::string& holder) {
#ifdef CUpti_SubscriberParams_STRUCT_SIZE
  char other[CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN + 1] = {};
  CUpti_SubscriberParams params{};
  params.structSize = CUpti_SubscriberParams_STRUCT_SIZE;
  params.subscriberName = "gputrace";
  params.oldSubscriberName = other;
  params.oldSubscriberSize = CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN;
  const CUptiResult r = cuptiSubscribe_v2(&s.subscriber, on_cupti_callback, nullptr, &params);
  holder = other;
#else
  // CUPTI before cuptiSubscribe_v2 does not say who holds the slot.
  const CUptiResult r = cuptiSubscribe(&s.subscriber, on_cupti_callback, nullptr);
#endif
  if (holder.empty()) holder = "an unnamed CUPTI client";
  return r;
}

StartOutcome fail(LibraryState& s, gt_gpu_state state, CUptiResult r, const std::string& holder,
                  const std::string& line) {
  say(line);
  s.processor.set_state(state, r, s.cupti_version, holder);
  s.processor.send_status(true);
  return {state, r, holder, line};
}

void set_up_clock(LibraryState& s) {
  // Must precede cuptiActivityEnable: CUPTI fixes its clock when the first kind is enabled.
  if (cuptiActivityRegisterTimestampCallback(monotonic_timestamp) == CUPTI_SUCCESS) {
    s.clock.use_callback();
  } else if (!s.clock.calibrate(read_cupti_clock, 200)) {
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

// The guards CUPTI itself enforces: its device buffer pool per context (CUDA graphs grew it
// without bound in parcagpu #23; CUPTI's own limit is 250 buffers of ~3 MB).
void limit_device_buffers(LibraryState& s) {
  if (s.options.device_buffers == 0) return;
  size_t limit = s.options.device_buffers;
  size_t size = sizeof(limit);
  if (const CUptiResult r = cuptiActivitySetAttribute(CUPTI_ACTIVITY_ATTR_DEVICE_BUFFER_POOL_LIMIT, &size, &limit);
      r != CUPTI_SUCCESS)
    say(std::string("cannot limit CUPTI's device buffer pool to ") + std::to_string(limit) + " (" + result_name(r) +
        "): CUPTI's own limit applies");
}

void set_guards(LibraryState& s) {
  GuardSettings g;
  g.limits.process_per_s = s.options.max_records_per_s;
  g.limits.thread_per_s = s.options.max_thread_records_per_s;
  g.limits.max_skew_ns = uint64_t{s.options.max_skew_ms} * 1'000'000;
  g.device_buffers = s.options.device_buffers;
  g.max_buffers = s.options.max_buffers;
  s.processor.set_guards(g);
}

// False when none of the activity gputrace exists for could be enabled.
bool enable_kinds(LibraryState& s) {
  const bool api = s.options.api && use_system_thread_ids();
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
      // One record per graph launch instead of one per kernel node (GPUTRACE_CUPTI_GRAPHS=graph).
      {CUPTI_ACTIVITY_KIND_GRAPH_TRACE, s.options.graph_trace, false, "GRAPH_TRACE"},
      {CUPTI_ACTIVITY_KIND_RUNTIME, api, false, "RUNTIME"},
      {CUPTI_ACTIVITY_KIND_DRIVER, api, false, "DRIVER"},
      {CUPTI_ACTIVITY_KIND_MEMORY2, s.options.memory, false, "MEMORY2"},
      // The profiler's own cost, on the timeline next to what it measures.
      {CUPTI_ACTIVITY_KIND_OVERHEAD, s.options.overhead, false, "OVERHEAD"},
  };
  bool any_core = false;
  s.enabled.clear();
  for (const auto& k : kinds) {
    if (!k.wanted) continue;
    if (const CUptiResult r = cuptiActivityEnable(k.kind); r != CUPTI_SUCCESS) {
      say(std::string("cannot enable CUPTI activity kind ") + k.name + ": " + result_name(r));
    } else {
      s.enabled.push_back(k.kind);
      any_core = any_core || k.core;
    }
  }
  // Nothing worth tracing: leave nothing on either (CUPTI would go on filling buffers).
  if (!any_core) {
    for (CUpti_ActivityKind kind : s.enabled) cuptiActivityDisable(kind);
    s.enabled.clear();
  }
  return any_core;
}

// Gives CUPTI's subscriber slot back, so that a profiler started later in the process can
// have it, when gputrace could claim it but not use it (or was told to detach).
void release_cupti(LibraryState& s) {
  if (s.subscriber == nullptr) return;
  cuptiUnsubscribe(s.subscriber);
  s.subscriber = nullptr;
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

}  // namespace

const char* result_name(CUptiResult r) {
  const char* text = nullptr;
  if (cuptiGetResultString(r, &text) != CUPTI_SUCCESS || text == nullptr) return "unknown CUPTI error";
  return text;
}

// Learns which PCI device CUDA device `device_id` is, once per device. The record goes out
// ahead of the device's first activity (RecordConverter); a device the driver cannot describe
// gets no record, one line on stderr, and the daemon's fallback (PCI address order).
void describe_device(LibraryState& s, uint32_t device_id) {
  if (s.processor.device_known(device_id)) return;
  const DeviceQuery q = query_device(driver(), device_id);
  if (q.record) {
    s.processor.add_device(*q.record);
  } else if (s.processor.add_unresolved_device(device_id)) {
    say("cannot read the PCI address of CUDA device " + std::to_string(device_id) + " (" + q.error +
        "): gputrace will assume CUDA numbers its devices in PCI address order");
  }
}

StartOutcome start_tracing(LibraryState& s, bool attaching) {
  for (const std::string& problem : s.options.problems) say(problem);
  uint32_t version = 0;
  if (cuptiGetVersion(&version) == CUPTI_SUCCESS) check_runtime_version(version);
  s.cupti_version = version;
  s.processor.set_cupti_version(version);
  std::string holder;
  if (const CUptiResult r = subscribe(s, holder); r != CUPTI_SUCCESS) {
    s.subscriber = nullptr;
    if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED)
      return fail(s, GT_GPU_STATE_OTHER_SUBSCRIBER, r, holder,
                  "CUPTI is already in use by " + holder +
                      " in this process: gputrace cannot trace its GPU kernels and copies. Stop that profiler "
                      "(or run without it) to let gputrace trace.");
    return fail(s, GT_GPU_STATE_CUPTI_FAILED, r, "",
                std::string("cuptiSubscribe failed (") + result_name(r) + "): GPU activity will not be traced");
  }
  set_up_clock(s);
  set_guards(s);
  if (const CUptiResult r = cuptiActivityRegisterCallbacks(buffer_requested, buffer_completed); r != CUPTI_SUCCESS) {
    release_cupti(s);
    return fail(s, GT_GPU_STATE_CUPTI_FAILED, r, "",
                std::string("cuptiActivityRegisterCallbacks failed (") + result_name(r) +
                    "): GPU activity will not be traced");
  }
  limit_device_buffers(s);
  if (!enable_kinds(s)) {
    release_cupti(s);
    return fail(s, GT_GPU_STATE_CUPTI_FAILED, CUPTI_ERROR_UNKNOWN, "",
                "no CUPTI activity kind could be enabled: GPU activity will not be traced");
  }
  // At cuInit no context exists yet: every device's context creation is seen. Attached
  // later, the existing devices are asked about now.
  if (const CUptiResult r =
          cuptiEnableCallback(1, s.subscriber, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED);
      r != CUPTI_SUCCESS)
    say(std::string("cannot enable CUPTI's context-created callback (") + result_name(r) +
        "): gputrace will assume CUDA numbers its devices in PCI address order");
  if (attaching) describe_existing_devices(s);
  s.processor.set_state(GT_GPU_STATE_ACTIVE, CUPTI_SUCCESS, version, "");
  s.processor.send_status(true);
  return {};
}

void stop_tracing(LibraryState& s) {
  if (s.subscriber == nullptr) return;
  // Nothing new from here on; then everything recorded before goes out, then the status.
  for (CUpti_ActivityKind kind : s.enabled) cuptiActivityDisable(kind);
  s.enabled.clear();
  cuptiEnableCallback(0, s.subscriber, CUPTI_CB_DOMAIN_RESOURCE, CUPTI_CBID_RESOURCE_CONTEXT_CREATED);
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
  s.processor.set_state(GT_GPU_STATE_DETACHED, CUPTI_SUCCESS, s.cupti_version, "");
  s.processor.send_status(true);
  release_cupti(s);
}

void flush_period(LibraryState& s, uint64_t& last_announce_ns) {
  // Recalibrate first: CUPTI's fallback clock is realtime, which NTP slews and steps.
  if (s.clock.mode() == GT_GPU_CLOCK_CALIBRATED) s.clock.calibrate(read_cupti_clock, 16);
  cuptiActivityFlushAll(0);  // hands over completed buffers that are not yet full
  if (const uint64_t now = ClockAlignment::monotonic_now(); now - last_announce_ns >= kAnnounceAgainNs) {
    s.processor.announce_again();
    last_announce_ns = now;
  }
  s.processor.send_status(false);
}

void final_flush(LibraryState& s) {
  cuptiActivityFlushAll(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);  // the last, partly filled buffers too
  s.processor.set_state(GT_GPU_STATE_EXITING, CUPTI_SUCCESS, s.cupti_version, "");
  s.processor.send_status(true);
}

}  // namespace gputrace::cupti
