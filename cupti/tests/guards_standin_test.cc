// The library's guards in a real process with the stand-in libcupti preloaded (a test double
// for the vendor library): record floods over the per-process and per-thread rate limits,
// kernels with impossible timestamps, CUPTI asking for more buffers than the cap allows, the
// device buffer pool limit, CUPTI's OVERHEAD records, and CUDA graph launches either way.
// Everything dropped must be counted, and kept + dropped must be what the process made.
#include "host_run.h"

#include <cupti.h>
#include <gtest/gtest.h>

#include <string>

namespace gputrace::cupti {
namespace {

using testing::HostRun;
using testing::run_host;

const gt_gpu_guards_event& last_guards(const HostRun& r) {
  static const gt_gpu_guards_event none{};
  return r.guards.empty() ? none : r.guards.back();
}

// 20000 kernels in one flush against 5000 records/s: a bucket holds one second's worth, and
// the flush takes far less than a second, so about 5000 pass and the rest are counted.
TEST(GuardsWithStandinCupti, ThePerProcessLimitDropsAFloodAndCountsIt) {
  const HostRun r = run_host({"kernels", "20000"}, {"GPUTRACE_CUPTI_MAX_RECORDS_PER_S=5000"});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  ASSERT_FALSE(r.guards.empty());
  const gt_gpu_guards_event& g = last_guards(r);
  EXPECT_EQ(g.process_limit, 5000u);
  EXPECT_EQ(static_cast<uint64_t>(r.kernels()) + g.process_rate_limited, 20000u);
  EXPECT_GE(r.kernels(), 5000);
  EXPECT_LT(r.kernels(), 10000);  // not the whole flood: the bucket refills 5000 a second
  EXPECT_EQ(r.statuses.back().records, static_cast<uint64_t>(r.kernels()));
  EXPECT_EQ(r.rejected, 0u);
}

// One thread polling in a loop floods API records; another thread's few must still pass.
TEST(GuardsWithStandinCupti, ThePerThreadLimitStopsOneChattyThreadOnly) {
  const HostRun r = run_host({"api", "3000", "4242", "api", "40", "4343"},
                             {"GPUTRACE_CUPTI_API=1", "GPUTRACE_CUPTI_MAX_THREAD_RECORDS_PER_S=500"});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  uint64_t chatty = 0, quiet = 0;
  for (const auto& a : r.api_calls) (a.hdr.tid == 4242 ? chatty : quiet) += 1;
  const gt_gpu_guards_event& g = last_guards(r);
  EXPECT_EQ(quiet, 40u);
  EXPECT_GE(chatty, 500u);
  EXPECT_LT(chatty, 1500u);
  EXPECT_EQ(chatty + g.thread_rate_limited, 3000u);
  EXPECT_EQ(g.process_rate_limited, 0u);
  EXPECT_EQ(g.thread_limit, 500u);
}

// An end an hour ahead cannot be, nor a start a minute before what the stream already ran:
// dropped and counted by reason, the sound kernel kept.
TEST(GuardsWithStandinCupti, ImpossibleTimestampsAreDroppedAndCountedByReason) {
  const HostRun r = run_host({"bad", "3", "4"}, {});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  EXPECT_EQ(r.kernels(), 1);
  const gt_gpu_guards_event& g = last_guards(r);
  EXPECT_EQ(g.invalid_timestamp, 3u);
  EXPECT_EQ(g.non_monotonic, 4u);
  EXPECT_EQ(r.rejected, 0u);  // nothing reached the daemon for it to reject
}

// CUPTI holds 6 buffers where the cap is 4: two requests get none, and the flush's own
// request too, so CUPTI drops those kernels and says how many.
TEST(GuardsWithStandinCupti, TheBufferCapRefusesBuffersAndCuptiCountsTheDrops) {
  const HostRun r =
      run_host({"kernels", "10"}, {"GPUTRACE_CUPTI_MAX_BUFFERS=4", "GPUTRACE_STANDIN_HOLD_BUFFERS=6"});
  EXPECT_EQ(r.program.exit_code, 0) << r.program.err;
  EXPECT_TRUE(r.called("held 4 of 6 buffers")) << r.program.err;
  EXPECT_EQ(r.kernels(), 0);
  const gt_gpu_guards_event& g = last_guards(r);
  EXPECT_GE(g.buffers_refused, 3u);
  EXPECT_EQ(g.max_buffers, 4u);
  EXPECT_EQ(r.statuses.back().dropped_cupti, 10u);
}

TEST(GuardsWithStandinCupti, LimitsCuptisDeviceBufferPool) {
  const HostRun r = run_host({}, {"GPUTRACE_CUPTI_DEVICE_BUFFERS=16"});
  EXPECT_TRUE(r.called("cuptiActivitySetAttribute(" + std::to_string(CUPTI_ACTIVITY_ATTR_DEVICE_BUFFER_POOL_LIMIT) +
                       ", 16)"))
      << r.program.err;
  EXPECT_EQ(last_guards(r).device_buffers, 16u);
  const HostRun own = run_host({}, {"GPUTRACE_CUPTI_DEVICE_BUFFERS=0"});
  EXPECT_FALSE(own.called("cuptiActivitySetAttribute")) << own.program.err;
}

// The profiler's own cost goes out as records of its own, unless switched off.
TEST(GuardsWithStandinCupti, ShipsCuptisOverheadRecords) {
  const HostRun r = run_host({"overheads", "3"}, {});
  EXPECT_TRUE(r.called("cuptiActivityEnable(" + std::to_string(CUPTI_ACTIVITY_KIND_OVERHEAD) + ")")) << r.program.err;
  ASSERT_EQ(r.overheads.size(), 3u);
  for (const auto& o : r.overheads) {
    EXPECT_EQ(o.overhead_kind, static_cast<uint32_t>(CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH));
    EXPECT_EQ(o.object_kind, static_cast<uint32_t>(CUPTI_ACTIVITY_OBJECT_THREAD));
    EXPECT_EQ(o.end_ns - o.hdr.ts_ns, 2000u);
    EXPECT_NE(o.hdr.tid, 0u);
  }
  const HostRun off = run_host({"overheads", "3"}, {"GPUTRACE_CUPTI_OVERHEAD=0"});
  EXPECT_FALSE(off.called("cuptiActivityEnable(" + std::to_string(CUPTI_ACTIVITY_KIND_OVERHEAD) + ")"));
}

// A graph launch: by default a kernel record per node, each naming the graph; with
// GPUTRACE_CUPTI_GRAPHS=graph one record for the whole launch.
TEST(GuardsWithStandinCupti, CoversCudaGraphLaunchesBothWays) {
  const HostRun nodes = run_host({"graph", "7", "5"}, {});
  ASSERT_EQ(nodes.kernels_seen.size(), 5u);
  for (const auto& k : nodes.kernels_seen) EXPECT_EQ(k.graph_id, 7u);
  EXPECT_FALSE(nodes.called("cuptiActivityEnable(" + std::to_string(CUPTI_ACTIVITY_KIND_GRAPH_TRACE) + ")"));
  const HostRun whole = run_host({"graph", "7", "5"}, {"GPUTRACE_CUPTI_GRAPHS=graph"});
  EXPECT_TRUE(whole.called("cuptiActivityEnable(" + std::to_string(CUPTI_ACTIVITY_KIND_GRAPH_TRACE) + ")"));
  ASSERT_EQ(whole.graphs.size(), 1u);
  EXPECT_EQ(whole.graphs[0].graph_id, 7u);
  EXPECT_EQ(whole.kernels(), 0);
  EXPECT_EQ(whole.rejected, 0u);
}

}  // namespace
}  // namespace gputrace::cupti
