// GpuActivity: one kernel, copy or memset from a served process's CUPTI records, reduced to
// what the correlation looks at.
#pragma once

extern "C" {
#include "bpf/gpu.h"
}

#include <cstdint>

namespace gputrace {

enum class GpuActivityKind : uint8_t { Kernel, Memcpy, Memset };

struct GpuActivity {
  GpuActivityKind kind = GpuActivityKind::Kernel;
  uint32_t pid = 0;        // the daemon's pid of the served process (stamped by GpuIngest)
  uint32_t device_id = 0;  // CUDA device ordinal in that process
  uint32_t stream_id = 0;
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint64_t bytes = 0;      // copies and memsets
  uint8_t copy_kind = 0;   // enum gt_gpu_copy_kind
  uint8_t src_kind = 0;    // CUpti_ActivityMemoryKind
  uint8_t dst_kind = 0;

  uint64_t duration_ns() const { return end_ns > start_ns ? end_ns - start_ns : 1; }
};

// CUpti_ActivityMemoryKind values the correlation tells apart.
inline constexpr uint8_t kCuptiMemoryPageable = 1;

// The activity each activity record describes.
GpuActivity activity_of(const gt_gpu_kernel_event& e);
GpuActivity activity_of(const gt_gpu_memcpy_event& e);
GpuActivity activity_of(const gt_gpu_memset_event& e);

}  // namespace gputrace
