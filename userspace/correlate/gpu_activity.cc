#include "userspace/correlate/gpu_activity.h"

namespace gputrace {

GpuActivity activity_of(const gt_gpu_kernel_event& e) {
  return GpuActivity{.kind = GpuActivityKind::Kernel, .pid = e.hdr.pid, .device_id = e.device_id,
                     .stream_id = e.stream_id, .start_ns = e.hdr.ts_ns, .end_ns = e.end_ns};
}

GpuActivity activity_of(const gt_gpu_memcpy_event& e) {
  return GpuActivity{.kind = GpuActivityKind::Memcpy, .pid = e.hdr.pid, .device_id = e.device_id,
                     .stream_id = e.stream_id, .start_ns = e.hdr.ts_ns, .end_ns = e.end_ns, .bytes = e.bytes,
                     .copy_kind = e.copy_kind, .src_kind = e.src_kind, .dst_kind = e.dst_kind};
}

GpuActivity activity_of(const gt_gpu_memset_event& e) {
  return GpuActivity{.kind = GpuActivityKind::Memset, .pid = e.hdr.pid, .device_id = e.device_id,
                     .stream_id = e.stream_id, .start_ns = e.hdr.ts_ns, .end_ns = e.end_ns, .bytes = e.bytes};
}

}  // namespace gputrace
