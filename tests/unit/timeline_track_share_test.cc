// The timeline's track limits are shared fairly: one process's kernels on a thousand distinct
// (device, stream) pairs cannot take every track and hide another process's kernels, and the
// events that find no track are counted where the report and the trace say what is missing.
#include "exporters/report/html_report.h"
#include "exporters/report/perfetto_trace.h"
#include "record_builder.h"
#include "userspace/pipeline/pipeline.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace gputrace {
namespace {

using test::kMs;
using test::TraceBuilder;

void kernel_on(TraceBuilder& t, uint32_t pid, uint64_t start, uint32_t device, uint32_t stream) {
  gt_gpu_kernel_event e{};
  e.end_ns = start + 1000;
  e.device_id = device;
  e.stream_id = stream;
  e.hdr.cpu = GT_GPU_NO_CPU;
  t.add(e, GT_EV_GPU_KERNEL, start, pid);
}

size_t slices_of(const Timeline& tl, uint32_t pid) {
  size_t n = 0;
  for (const auto& s : tl.slices)
    for (size_t i = 0; i < SliceArgs::kMax; ++i)
      if (s.args.keys[i] == SliceArg::Pid && s.args.values[i] == static_cast<int64_t>(pid)) ++n;
  return n;
}

TEST(TimelineTrackShare, OneProcessesThousandStreamsLeaveRoomForAnothersKernels) {
  TraceBuilder t;
  for (uint32_t i = 0; i < 1000; ++i) kernel_on(t, 100, 10 * kMs + i * 1000, i % 4, i);
  for (uint32_t i = 0; i < 20; ++i) kernel_on(t, 200, 20 * kMs + i * 1000, 0, 7000 + i % 2);
  Pipeline p;
  t.feed(p);
  const Timeline& tl = *p.timeline();
  EXPECT_EQ(slices_of(tl, 200), 20u);
  EXPECT_EQ(slices_of(tl, 100), 32u);  // its share: TimelineLimits::max_tracks_per_process
  EXPECT_EQ(tl.refused, 968u);
  EXPECT_EQ(tl.dropped_total(), 968u);
  const std::string trace = render_perfetto_trace(tl, p.snapshot());
  const auto other = nlohmann::json::parse(trace)["otherData"];
  EXPECT_EQ(other["dropped_events"], 968u) << other.dump();
  EXPECT_NE(render_html_report(p.snapshot(), tl).find("968 events had no place on the timeline"), std::string::npos);
}

}  // namespace
}  // namespace gputrace
