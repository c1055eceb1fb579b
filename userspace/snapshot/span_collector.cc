#include "userspace/snapshot/span_collector.h"

extern "C" {
#include "bpf/gc.h"
#include "bpf/gpu.h"
}

#include "userspace/gc/pause_stats.h"

#include <algorithm>
#include <cstring>

namespace gputrace {
namespace {

const char* gc_runtime_name(uint8_t runtime) {
  switch (runtime) {
    case GT_GC_RT_CPYTHON: return "cpython";
    case GT_GC_RT_HOTSPOT: return "hotspot";
    case GT_GC_RT_GO: return "go";
    default: return "unknown";
  }
}

const char* gc_cause_name(uint8_t cause) {
  switch (cause) {
    case GT_GC_CAUSE_COLLECTION: return "collection";
    case GT_GC_CAUSE_GO_SWEEP_TERM: return "sweep_termination";
    case GT_GC_CAUSE_GO_MARK_TERM: return "mark_termination";
    case GT_GC_CAUSE_NOT_GC: return "not_gc";
    default: return "unknown";
  }
}

const char* copy_kind_name(uint8_t kind) {
  switch (kind) {
    case GT_GPU_COPY_HTOD: return "htod";
    case GT_GPU_COPY_DTOH: return "dtoh";
    case GT_GPU_COPY_DTOD: return "dtod";
    case GT_GPU_COPY_HTOH: return "htoh";
    case GT_GPU_COPY_PTOP: return "ptop";
    default: return "other";
  }
}

// CUpti_ActivityMemoryKind: pageable host memory forces the driver to stage the copy.
const char* memory_kind_name(uint8_t kind) {
  switch (kind) {
    case 1: return "pageable";
    case 2: return "pinned";
    case 3: return "device";
    case 4: return "array";
    case 5: return "managed";
    case 6: return "device_static";
    case 7: return "managed_static";
    default: return "unknown";
  }
}

TimelineSpan gc_pause_span(const Record& r) {
  const auto e = r.as<gt_gc_pause_event>();
  TimelineSpan s;
  s.name = "gc.pause";
  s.end_ns = e.hdr.ts_ns;
  s.start_ns = e.begin_ns && e.begin_ns <= e.hdr.ts_ns ? e.begin_ns : e.hdr.ts_ns - std::min(e.hdr.ts_ns, e.duration_ns);
  s.pid = e.hdr.pid;
  auto& a = s.attributes;
  a["runtime"] = gc_runtime_name(e.runtime);
  a["cause"] = gc_cause_name(e.cause);
  a["duration_ns"] = e.duration_ns;
  a["tid"] = e.hdr.tid;
  if (e.ns_pid && e.ns_pid != e.hdr.pid) a["ns_pid"] = e.ns_pid;
  if (e.runtime == GT_GC_RT_CPYTHON) {
    a["generation"] = e.generation;
    if (e.collected >= 0) a["collected"] = e.collected;
  }
  if (e.runtime == GT_GC_RT_HOTSPOT) {
    a["full"] = (e.flags & GT_GC_F_FULL) != 0;
    if (e.span_ns != e.duration_ns) a["scope_ns"] = e.span_ns;
  }
  if (e.runtime == GT_GC_RT_GO && e.cause == GT_GC_CAUSE_NOT_GC)
    a["reason"] = gc::go_stw_reason(e.stw_reason, e.reason, sizeof(e.reason));
  return s;
}

TimelineSpan memcpy_span(const Record& r) {
  const auto e = r.as<gt_gpu_memcpy_event>();
  TimelineSpan s;
  s.name = "gpu.memcpy";
  s.start_ns = e.hdr.ts_ns;
  s.end_ns = std::max(e.end_ns, e.hdr.ts_ns);
  s.pid = e.hdr.pid;
  auto& a = s.attributes;
  a["copy_kind"] = copy_kind_name(e.copy_kind);
  a["bytes"] = e.bytes;
  a["src_memory"] = memory_kind_name(e.src_kind);
  a["dst_memory"] = memory_kind_name(e.dst_kind);
  a["async"] = (e.flags & 1) != 0;
  a["gpu_device_id"] = e.device_id;
  a["stream_id"] = e.stream_id;
  a["correlation_id"] = e.correlation_id;
  const uint64_t ns = s.end_ns - s.start_ns;
  // bytes per ns is GB/s; bytes/s is the base unit every dashboard converts from
  if (ns) a["bytes_per_second"] = static_cast<double>(e.bytes) * 1e9 / static_cast<double>(ns);
  return s;
}

}  // namespace

void SpanCollector::on_record(const Record& r) {
  const uint16_t kind = r.header.kind;
  if (kind == GT_EV_GC_PAUSE) {
    if (r.as<gt_gc_pause_event>().duration_ns < config_.min_duration_ns) return;
    keep(gc_pause_span(r));
  } else if (kind == GT_EV_GPU_MEMCPY) {
    const auto e = r.as<gt_gpu_memcpy_event>();
    if (e.end_ns >= e.hdr.ts_ns && e.end_ns - e.hdr.ts_ns < config_.min_duration_ns) return;
    keep(memcpy_span(r));
  }
}

std::vector<TimelineSpan> SpanCollector::take() {
  std::vector<TimelineSpan> out;
  out.swap(pending_);
  return out;
}

void SpanCollector::keep(TimelineSpan span) {
  if (pending_.size() >= config_.max_pending) {
    ++dropped_;
    return;
  }
  ++kept_;
  pending_.push_back(std::move(span));
}

}  // namespace gputrace
