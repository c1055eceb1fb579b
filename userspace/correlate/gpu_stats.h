// Per-process totals of GPU activity and of what the correlation concluded about it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace gputrace {

// The injection library's own word on its state (its latest GT_EV_GPU_STATUS): whether it
// traces at all, on which clock, and what it lost before anything reached gputrace.
struct GpuLibraryStatus {
  uint32_t state = 0;          // enum gt_gpu_state
  int32_t cupti_result = 0;    // CUptiResult of the call that decided state
  std::string holder;          // the other CUPTI client, with GT_GPU_STATE_OTHER_SUBSCRIBER
  uint32_t clock_mode = 0;     // enum gt_gpu_clock_mode
  uint64_t clock_error_ns = 0; // bound on the calibrated clock's error
  uint64_t records = 0;        // converted in the process
  uint64_t dropped_cupti = 0;  // CUPTI could not store them (its buffers were full)
  uint64_t dropped_local = 0;  // the library could not hand them over
  // From its GT_EV_GPU_LIB_LOSSES record, sent with each status: taken from CUPTI, not shipped.
  uint64_t untimed = 0;            // CUPTI could not time them
  uint64_t truncated = 0;          // cut short by the end of their buffer
  uint64_t buffers_cut_short = 0;  // buffers libcupti stopped walking early (the rest uncounted)
  uint64_t names_overflowed = 0;   // kernels shipped without a name
  uint32_t headers_version = 0;    // CUPTI_API_VERSION the library was built against
  bool layout_unverified = false;  // ... newer than the record layouts gputrace has checked
  // From its GT_EV_GPU_GUARDS record, sent with each status: dropped by its guards.
  bool has_guards = false;
  uint64_t process_rate_limited = 0;  // over its records/s limit for the whole process
  uint64_t thread_rate_limited = 0;   // over its records/s limit for one thread
  uint64_t invalid_timestamp = 0;     // ending far in the future, or lasting over a day
  uint64_t non_monotonic = 0;         // starting far before the latest record of its stream
  uint64_t buffers_refused = 0;       // CUPTI wanted a buffer past the library's cap
  uint32_t process_limit = 0, thread_limit = 0, device_buffers = 0, max_buffers = 0;  // as set
};

struct GpuProcessStats {
  uint64_t kernels = 0;
  uint64_t kernel_ns = 0;
  uint64_t memcpys = 0;
  uint64_t memcpy_bytes = 0;
  uint64_t memcpy_ns = 0;
  uint64_t memsets = 0;
  uint64_t stalled_copies = 0;
  uint64_t idle_gc_ns = 0;     // GPU idle time overlapped by this process's GC pauses
  uint64_t idle_gc_pauses = 0;
  uint64_t overhead_records = 0;  // CUPTI OVERHEAD records: the profiler's own cost
  uint64_t overhead_ns = 0;
  uint64_t graph_launches = 0;    // whole CUDA graph launches (GPUTRACE_CUPTI_GRAPHS=graph)
  uint64_t graph_ns = 0;
  std::optional<GpuLibraryStatus> library;  // none: no status record arrived
};

}  // namespace gputrace
