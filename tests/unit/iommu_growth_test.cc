#include "record_builder.h"

namespace gputrace {
namespace {

using test::findings_of;
using test::kMs;
using test::kSec;
using test::MapOpts;
using test::TraceBuilder;

constexpr uint64_t kNvme = 0xffff888002000000;
constexpr const char* kNvmeName = "0000:00:05.0";

TEST(Iommu, SgMapsPerSegmentAndUnmapsTheRangeOnce) {
  TraceBuilder t;
  t.facts(1, kNvmeName, GT_IOMMU_LAZY).device(2, kNvme, kNvmeName, "nvme");
  // Three segments, one DMA-API sg mapping over the contiguous IOVA range, one range unmap.
  t.iommu_map(10 * kMs, 0xffe00000, 4096).iommu_map(10 * kMs + 1, 0xffe01000, 8192).iommu_map(10 * kMs + 2, 0xffe03000, 4096);
  t.map(10 * kMs + 3, kNvme, 0xffe00000, 16384, {.api = GT_DMA_SG, .dir = 2});
  t.iommu_unmap(20 * kMs, 0xffe00000, 16384).unmap(20 * kMs + 1, kNvme, 0xffe00000, 16384, {.api = GT_DMA_SG, .dir = 2});
  Engine engine;
  t.feed(engine);
  const auto& totals = engine.iommu().totals();
  EXPECT_EQ(totals.maps, 3u);
  EXPECT_EQ(totals.unmaps, 1u);
  EXPECT_EQ(totals.unmatched_unmaps, 0u);
  EXPECT_EQ(engine.iommu().outstanding_ranges(), 0u);
  const uint32_t dev = *engine.devices().find_name(kNvmeName);
  EXPECT_EQ(engine.iommu().device_counts(dev).maps, 3u);
  EXPECT_EQ(engine.iommu().device_counts(dev).unmaps, 1u);
  EXPECT_TRUE(engine.findings().empty());
}

TEST(Iommu, StrictReuseOfAnIovaIsNoOverlap) {
  TraceBuilder t;
  for (uint64_t i = 0; i < 10; ++i) t.iommu_map(kMs + i * 100, 0xfffff000, 4096).iommu_unmap(kMs + i * 100 + 50, 0xfffff000, 4096);
  t.iommu_unmap(2 * kMs, 0x5000, 4096);  // mapped before tracing started
  Engine engine;
  t.feed(engine);
  EXPECT_EQ(engine.iommu().totals().overlapping_maps, 0u);
  EXPECT_EQ(engine.iommu().totals().unmatched_unmaps, 1u);
  EXPECT_EQ(engine.iommu().outstanding_ranges(), 0u);
  EXPECT_EQ(engine.iommu().totals().outstanding_bytes, 0u);
}

TEST(Faults, IdenticalFaultsWithinASecondAreOneFinding) {
  TraceBuilder t;
  t.facts(1, kNvmeName, GT_IOMMU_STRICT);
  for (uint64_t i = 0; i < 5; ++i) t.fault(10 * kMs + i * kMs, kNvmeName, 0xdead000);
  t.fault(20 * kMs, kNvmeName, 0xbeef000);
  t.fault(1500 * kMs, kNvmeName, 0xdead000);
  Engine engine;
  t.feed(engine);
  const auto faults = findings_of(engine, "iommu_fault");
  ASSERT_EQ(faults.size(), 3u);
  EXPECT_EQ(faults[0].evidence["count"], 5u);
  EXPECT_EQ(faults[0].evidence["iova"], "0xdead000");
  EXPECT_EQ(faults[0].evidence["iommu_mode"], "strict");
  EXPECT_EQ(faults[0].device, kNvmeName);
  EXPECT_EQ(engine.health().counts(*engine.devices().find_name(kNvmeName)).iommu_faults, 7u);
}

// Steady I/O: every second maps 64 buffers and unmaps them 5 ms later, plus `leak_per_s`
// mappings that are never unmapped, and a 1024-mapping ring allocated at the start.
TraceBuilder io_trace(uint64_t seconds, uint64_t leak_per_s) {
  TraceBuilder t;
  t.facts(1, kNvmeName, GT_IOMMU_STRICT).device(2, kNvme, kNvmeName, "nvme");
  uint64_t leak_addr = 0x80000000;
  for (uint64_t r = 0; r < 1024; ++r) t.map(10 * kMs + r, kNvme, 0x40000000 + r * 0x1000, 4096, {.pid = 0, .context = GT_CTX_KTHREAD});
  for (uint64_t s = 1; s <= seconds; ++s) {
    for (uint64_t i = 0; i < 64; ++i) {
      const uint64_t ts = s * kSec + i * 10 * kMs;
      t.map(ts, kNvme, 0x10000000 + i * 0x1000, 4096, {.api = GT_DMA_SG});
      t.unmap(ts + 5 * kMs, kNvme, 0x10000000 + i * 0x1000, 4096, {.api = GT_DMA_SG});
    }
    for (uint64_t i = 0; i < leak_per_s; ++i) t.map(s * kSec + 700 * kMs + i, kNvme, leak_addr += 0x1000, 4096);
  }
  return t;
}

TEST(Growth, SteadyLeakIsFound) {
  Engine engine;
  io_trace(60, 20).feed(engine);
  const auto growth = findings_of(engine, "dma_mapping_growth");
  ASSERT_EQ(growth.size(), 1u);
  EXPECT_EQ(growth[0].device, kNvmeName);
  EXPECT_GE(growth[0].evidence["growth"]["mappings"].get<uint64_t>(), 256u);
  EXPECT_EQ(growth[0].evidence["iommu_mode"], "strict");
}

TEST(Growth, StableSetAndChurnAreNotGrowth) {
  Engine engine;
  io_trace(120, 0).feed(engine);
  EXPECT_TRUE(findings_of(engine, "dma_mapping_growth").empty());
}

TEST(Growth, SlowLeakBelowTheMinimumIsNotReported) {
  Engine engine;
  io_trace(60, 2).feed(engine);  // 60 mappings over 30 s: under 256 and under 16 MiB
  EXPECT_TRUE(findings_of(engine, "dma_mapping_growth").empty());
}

}  // namespace
}  // namespace gputrace
