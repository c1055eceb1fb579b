// The engine's side of pairing DMA mappings in the kernel: the records the kernel ships
// instead of every map and unmap (GT_EV_DMA_OUTSTANDING, _RELEASED, _CLOSED, _COUNTS) give
// the same findings and totals as the raw events would.
#include "record_builder.h"

namespace gputrace {
namespace {

using test::findings_of;
using test::kMs;
using test::kSec;
using test::MapOpts;
using test::TraceBuilder;

constexpr uint64_t kGpu = 0xffff888001234000;
constexpr const char* kGpuName = "0000:00:04.0";

TraceBuilder with_gpu() {
  TraceBuilder t;
  t.facts(1, kGpuName, GT_IOMMU_STRICT).device(2, kGpu, kGpuName);
  return t;
}

const DeviceDmaStats& gpu_stats(const Engine& e) {
  return *e.mappings().device_stats(*e.devices().find_name(kGpuName));
}

gt_dma_counts page_counts(uint64_t maps, uint64_t unmaps) {
  gt_dma_counts c{};
  c.maps[0] = maps;
  c.unmaps[0] = unmaps;
  c.map_bytes[0] = maps * 4096;
  c.unmap_bytes[0] = unmaps * 4096;
  return c;
}

TEST(KernelPairing, TotalsComeFromTheKernelsCountsOnly) {
  auto t = with_gpu();
  t.counts(100 * kMs, kGpu, 0, page_counts(1000, 990));
  // a promoted mapping and its unmap: tracked, not counted again
  t.outstanding(600 * kMs, 50 * kMs, kGpu, 0x1000, 4096).released(700 * kMs, kGpu, 0x1000, 4096);
  t.counts(1100 * kMs, kGpu, 0, page_counts(5000, 4990));
  // a device described again after an unbind counts on a second slot
  t.counts(1100 * kMs, kGpu, 3, page_counts(7, 2));
  Engine engine;
  t.feed(engine);
  const auto& s = gpu_stats(engine);
  EXPECT_EQ(s.by_api[0].maps, 5007u);
  EXPECT_EQ(s.by_api[0].unmaps, 4992u);
  EXPECT_EQ(s.by_api[0].map_bytes, 5007u * 4096);
  EXPECT_EQ(s.outstanding, 0u);
  EXPECT_TRUE(engine.findings().empty());
}

TEST(KernelPairing, MappingPromotedAfterItsOwnerExitedIsALeakAfterGrace) {
  auto t = with_gpu();
  t.stack(3, 9, {"dma_map_page_attrs", "edu_map_ioctl", "__x64_sys_ioctl"});
  t.proc_info(4, 100, 50, "edu_user");
  t.exit(200 * kMs, 100, 50, "edu_user");  // exits before the sweep promotes its mapping
  t.outstanding(600 * kMs, 48 * kMs, kGpu, 0x7000, 4096, {.pid = 100, .stack_id = 9});
  t.counts(2 * kSec + 300 * kMs, kGpu, 0, page_counts(1, 0));  // the clock passes the grace
  Engine engine;
  t.feed(engine);
  const auto leaks = findings_of(engine, "dma_leak_owner_exit");
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].pid, 100u);
  EXPECT_EQ(leaks[0].comm, "edu_user");  // named from the process table: the record carries no comm
  EXPECT_EQ(leaks[0].evidence["mapped_at_ns"], 48 * kMs);
  EXPECT_EQ(leaks[0].evidence["owner_exit_ns"], 200 * kMs);
  EXPECT_EQ(leaks[0].evidence["stack"][1], "edu_map_ioctl+0x11");
  EXPECT_TRUE(engine.mappings().not_judged().empty());
}

TEST(KernelPairing, PromotedMappingOfALiveOwnerIsJudgedAtItsExit) {
  auto t = with_gpu();
  t.proc_info(4, 100, 50, "app").outstanding(600 * kMs, 48 * kMs, kGpu, 0x7000, 4096, {.pid = 100});
  t.exit(1 * kSec, 100, 50, "app").counts(3100 * kMs, kGpu, 0, page_counts(1, 0));
  Engine engine;
  t.feed(engine);
  EXPECT_EQ(findings_of(engine, "dma_leak_owner_exit").size(), 1u);
}

TEST(KernelPairing, ProcessThatReusedThePidIsNotTheOwner) {
  auto t = with_gpu();
  t.proc_info(4, 100, 50, "old").exit(20 * kMs, 100, 50, "old");
  t.exec(30 * kMs, 100, 30 * kMs, "new", "/usr/bin/new");
  t.outstanding(600 * kMs, 48 * kMs, kGpu, 0x7000, 4096, {.pid = 100});
  Engine engine;
  t.feed(engine);
  const auto& owners = engine.mappings().owners().all();
  ASSERT_EQ(owners.size(), 1u);
  EXPECT_EQ(owners[0].comm, "new");
  EXPECT_EQ(owners[0].process.start_ns, 30 * kMs);
}

TEST(KernelPairing, ClosedPairThenAnotherUnmapIsADoubleUnmap) {
  auto t = with_gpu();
  t.closed(900 * kMs, 100 * kMs, 150 * kMs, kGpu, 0x9000, 4096, {.pid = 100});
  t.released(900 * kMs + 1, kGpu, 0x9000, 4096, {.pid = 100});
  Engine engine;
  t.feed(engine);
  const auto unmatched = findings_of(engine, "dma_unmap_unmatched");
  ASSERT_EQ(unmatched.size(), 1u);
  EXPECT_EQ(unmatched[0].evidence["reason"], "double_unmap");
  EXPECT_EQ(unmatched[0].evidence["previous_unmap_ns"], 150 * kMs);
  EXPECT_EQ(gpu_stats(engine).unmaps_of_pre_trace_mappings, 0u);
}

TEST(KernelPairing, MismatchShipsTheMappingAndItsUnmap) {
  auto t = with_gpu();
  t.outstanding(300 * kMs, 100 * kMs, kGpu, 0x9000, 4096, {}, GT_SHIP_MISMATCH);
  t.released(300 * kMs + 1, kGpu, 0x9000, 8192);
  Engine engine;
  t.feed(engine);
  const auto unmatched = findings_of(engine, "dma_unmap_unmatched");
  ASSERT_EQ(unmatched.size(), 1u);
  EXPECT_EQ(unmatched[0].evidence["reason"], "mismatch");
}

TEST(KernelPairing, ReleaseOfAnAddressNeverShippedWasMappedBeforeTracing) {
  auto t = with_gpu();
  t.released(300 * kMs, kGpu, 0x9000, 4096);
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(engine.findings().empty());
  EXPECT_EQ(gpu_stats(engine).unmaps_of_pre_trace_mappings, 1u);
}

TEST(KernelPairing, MappingsShippedAtUnbindAreLeaks) {
  auto t = with_gpu();
  for (uint64_t i = 0; i < 3; ++i)
    t.outstanding(400 * kMs, 390 * kMs, kGpu, 0x10000 + i * 0x1000, 2048, {}, GT_SHIP_UNBIND);
  t.unbind(400 * kMs + 1, kGpu);
  Engine engine;
  t.feed(engine);
  EXPECT_EQ(findings_of(engine, "dma_leak_unbind").size(), 3u);
  EXPECT_EQ(gpu_stats(engine).outstanding, 0u);
}

}  // namespace
}  // namespace gputrace
