// SpanCollector: which records become spans, and the per-interval budget.
#include "record_builder.h"

extern "C" {
#include "bpf/gc.h"
#include "bpf/gpu.h"
}

#include "userspace/host/container_id.h"
#include "userspace/snapshot/span_collector.h"

namespace gputrace {
namespace {

using test::kMs;
using test::TraceBuilder;

void feed(SpanCollector& spans, const TraceBuilder& t) {
  for (const Record& r : t.records()) spans.on_record(r);
}

TraceBuilder pauses_and_copies() {
  TraceBuilder t;
  gt_gc_pause_event p{};
  p.begin_ns = 10 * kMs;
  p.duration_ns = 2 * kMs;
  p.runtime = GT_GC_RT_GO;
  p.cause = GT_GC_CAUSE_NOT_GC;
  p.stw_reason = 7;  // read mem stats
  p.ns_pid = 12;
  t.add(p, GT_EV_GC_PAUSE, 12 * kMs, 500);
  p.duration_ns = 50'000;  // 50 us
  p.begin_ns = 20 * kMs;
  t.add(p, GT_EV_GC_PAUSE, 20 * kMs + 50'000, 500);
  gt_gpu_memcpy_event c{};
  c.end_ns = 31 * kMs;
  c.bytes = 1 << 20;
  c.copy_kind = GT_GPU_COPY_DTOH;
  c.src_kind = 3;
  c.dst_kind = 2;
  t.add(c, GT_EV_GPU_MEMCPY, 30 * kMs, 600);
  t.exit(40 * kMs, 500, 1, "app");  // not a span
  return t;
}

TEST(SpanCollector, PausesAndCopiesBecomeSpansAboveTheMinimum) {
  SpanCollector spans({.max_pending = 10, .min_duration_ns = 100'000});
  feed(spans, pauses_and_copies());
  const auto got = spans.take();
  ASSERT_EQ(got.size(), 2u);  // the 50 us pause makes no span
  EXPECT_EQ(got[0].name, "gc.pause");
  EXPECT_EQ(got[0].pid, 500u);
  EXPECT_EQ(got[0].start_ns, 10 * kMs);
  EXPECT_EQ(got[0].end_ns, 12 * kMs);
  EXPECT_EQ(got[0].attributes["runtime"], "go");
  EXPECT_EQ(got[0].attributes["reason"], "read mem stats");
  EXPECT_EQ(got[0].attributes["ns_pid"], 12);
  EXPECT_EQ(got[1].name, "gpu.memcpy");
  EXPECT_EQ(got[1].attributes["copy_kind"], "dtoh");
  EXPECT_EQ(got[1].attributes["dst_memory"], "pinned");
  EXPECT_DOUBLE_EQ(got[1].attributes["bytes_per_second"].get<double>(), (1 << 20) * 1e3);
  EXPECT_TRUE(spans.take().empty());  // taken once
  EXPECT_EQ(spans.dropped(), 0u);
}

TEST(SpanCollector, SpansBeyondTheBudgetAreCountedNotKept) {
  SpanCollector spans({.max_pending = 2});
  feed(spans, pauses_and_copies());
  feed(spans, pauses_and_copies());
  EXPECT_EQ(spans.take().size(), 2u);
  EXPECT_EQ(spans.dropped(), 4u);
  feed(spans, pauses_and_copies());  // a new interval has a new budget
  EXPECT_EQ(spans.take().size(), 2u);
  EXPECT_EQ(spans.dropped(), 5u);
}

TEST(ContainerId, FromTheCgroupPathsOfCommonRuntimes) {
  const std::string id(64, 'e');
  EXPECT_EQ(container_id_from_cgroup("0::/system.slice/docker-" + id + ".scope\n"), id);
  EXPECT_EQ(container_id_from_cgroup("0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234.slice/cri-containerd-" +
                                     id + ".scope\n"),
            id);
  EXPECT_EQ(container_id_from_cgroup("12:pids:/docker/" + id + "\n11:cpu:/docker/" + id + "\n"), id);
  EXPECT_EQ(container_id_from_cgroup("0::/machine.slice/libpod-" + id + ".scope/container\n"), id);
  EXPECT_EQ(container_id_from_cgroup("0::/user.slice/user-1000.slice/session-2.scope\n"), "");
  EXPECT_EQ(container_id_from_cgroup("0::/system.slice/docker-" + std::string(63, 'e') + ".scope\n"), "");
  EXPECT_EQ(container_id_from_cgroup("0::/x" + id + "\n"), "");  // not a whole path component
  EXPECT_EQ(container_id_of(1, "/nonexistent"), "");
}

}  // namespace
}  // namespace gputrace
