// The Perfetto timeline of a run: the Timeline as Chrome trace event JSON
// ({"traceEvents": [...], "displayTimeUnit": "ns"}), which ui.perfetto.dev and
// chrome://tracing open as they are. Each process, GPU, device and the host is a trace
// "process" with named tracks ("threads"): GC pauses and GPU streams as slices (ph X),
// outstanding DMA mappings as counters (ph C), findings as instants (ph i) or, when they
// cover a time range, slices. Timestamps are CLOCK_MONOTONIC microseconds, so the trace
// lines up with other tools stamping that clock. See docs/views.md.
#pragma once

#include "userspace/model/host_snapshot.h"
#include "userspace/model/timeline.h"

#include <cstdint>
#include <string>

namespace gputrace {

// Trace pids of the non-process groups: above any Linux pid (PID_MAX_LIMIT is 2^22).
inline constexpr int64_t kTraceGpuPidBase = 10'000'000;
inline constexpr int64_t kTraceDevicePidBase = 20'000'000;
inline constexpr int64_t kTraceHostPid = 30'000'000;

// s supplies the source (host, capture path) written into "otherData".
std::string render_perfetto_trace(const Timeline& timeline, const HostSnapshot& s);

}  // namespace gputrace
