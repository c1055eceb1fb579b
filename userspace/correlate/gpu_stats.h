// Per-process totals of GPU activity and of what the correlation concluded about it.
#pragma once

#include <cstdint>

namespace gputrace {

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
};

}  // namespace gputrace
