#include "correlate/gpu_activity.h"

namespace gputrace {

std::optional<GpuActivity> gpu_activity_of(const Record& r) {
  switch (r.header.kind) {  // GPU kinds are their own enum (bpf/gpu.h)
    case GT_EV_GPU_KERNEL: {
      const auto e = r.as<gt_gpu_kernel_event>();
      return GpuActivity{.kind = GpuActivityKind::Kernel, .pid = e.hdr.pid, .device_id = e.device_id,
                         .stream_id = e.stream_id, .start_ns = e.hdr.ts_ns, .end_ns = e.end_ns};
    }
    case GT_EV_GPU_MEMCPY: {
      const auto e = r.as<gt_gpu_memcpy_event>();
      return GpuActivity{.kind = GpuActivityKind::Memcpy, .pid = e.hdr.pid, .device_id = e.device_id,
                         .stream_id = e.stream_id, .start_ns = e.hdr.ts_ns, .end_ns = e.end_ns,
                         .bytes = e.bytes, .copy_kind = e.copy_kind, .src_kind = e.src_kind,
                         .dst_kind = e.dst_kind};
    }
    case GT_EV_GPU_MEMSET: {
      const auto e = r.as<gt_gpu_memset_event>();
      return GpuActivity{.kind = GpuActivityKind::Memset, .pid = e.hdr.pid, .device_id = e.device_id,
                         .stream_id = e.stream_id, .start_ns = e.hdr.ts_ns, .end_ns = e.end_ns,
                         .bytes = e.bytes};
    }
    default: return std::nullopt;
  }
}

}  // namespace gputrace
