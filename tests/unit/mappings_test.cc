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

TEST(Mappings, PageMapUnmapCountsExactly) {
  auto t = with_gpu();
  t.map(10 * kMs, kGpu, 0x1000, 4096).unmap(11 * kMs, kGpu, 0x1000, 4096);
  t.map(12 * kMs, kGpu, 0x2000, 8192, {.api = GT_DMA_COHERENT, .dir = 0});
  Engine engine;
  t.feed(engine);
  const auto& s = gpu_stats(engine);
  EXPECT_EQ(s.by_api[0].maps, 1u);
  EXPECT_EQ(s.by_api[0].unmaps, 1u);
  EXPECT_EQ(s.by_api[0].map_bytes, 4096u);
  EXPECT_EQ(s.by_api[2].maps, 1u);
  EXPECT_EQ(s.outstanding, 1u);
  EXPECT_EQ(s.outstanding_bytes, 8192u);
  EXPECT_TRUE(engine.findings().empty());  // a coherent buffer held at end of trace is fine
}

TEST(Mappings, UnbindReportsEachLeakedMappingOnce) {
  auto t = with_gpu();
  t.stack(3, 9, {"dma_map_page_attrs", "edu_leak_ioctl", "__x64_sys_ioctl"});
  for (uint64_t i = 0; i < 3; ++i) t.map(10 * kMs + i, kGpu, 0x10000 + i * 0x1000, 2048, {.stack_id = 9});
  t.map(20 * kMs, kGpu, 0x90000, 4096).unmap(30 * kMs, kGpu, 0x90000, 4096);  // released before remove
  t.unbind(40 * kMs, kGpu);
  Engine engine;
  t.feed(engine);
  const auto leaks = findings_of(engine, "dma_leak_unbind");
  ASSERT_EQ(leaks.size(), 3u);
  EXPECT_EQ(leaks[0].evidence["bus_address"], "0x10000");
  EXPECT_EQ(leaks[0].evidence["iommu_mode"], "strict");
  EXPECT_EQ(leaks[0].evidence["direction"], "to_device");
  EXPECT_EQ(leaks[0].evidence["owner"]["kind"], "process");
  EXPECT_EQ(leaks[0].evidence["stack"][1], "edu_leak_ioctl+0x11");
  EXPECT_EQ(gpu_stats(engine).outstanding, 0u);
  EXPECT_EQ(gpu_stats(engine).leaked_at_unbind, 3u);
}

TEST(Mappings, OwnerExitLeakIsFoundAfterGraceOnly) {
  auto t = with_gpu();
  t.proc_info(3, 100, 50, "app").map(10 * kMs, kGpu, 0x1000, 4096).exit(100 * kMs, 100, 50, "app");
  t.map(2 * kSec + 150 * kMs, kGpu, 0x5000, 4096, {.pid = 7, .comm = "other"});  // clock passes the grace
  Engine engine;
  t.feed(engine);
  const auto leaks = findings_of(engine, "dma_leak_owner_exit");
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].pid, 100u);
  EXPECT_EQ(leaks[0].comm, "app");
  EXPECT_EQ(leaks[0].evidence["owner_exit_ns"], 100 * kMs);
  // Reported under (b): the unbind later must not report it again.
  Engine again;
  t.unbind(3 * kSec, kGpu).feed(again);
  EXPECT_EQ(findings_of(again, "dma_leak_owner_exit").size(), 1u);
  EXPECT_EQ(findings_of(again, "dma_leak_unbind").size(), 1u);  // only the 0x5000 mapping
}

TEST(Mappings, UnmapRightAfterExitIsNotALeak) {
  auto t = with_gpu();
  t.proc_info(3, 100, 50, "app").map(10 * kMs, kGpu, 0x1000, 4096).exit(100 * kMs, 100, 50, "app");
  t.unmap(101 * kMs, kGpu, 0x1000, 4096, {.pid = 0, .comm = "kworker/0:1", .context = GT_CTX_KTHREAD});
  t.map(5 * kSec, kGpu, 0x5000, 4096, {.pid = 7});
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(findings_of(engine, "dma_leak_owner_exit").empty());
}

TEST(Mappings, ExitTooCloseToTheEndIsNotJudged) {
  auto t = with_gpu();
  t.proc_info(3, 100, 50, "app").map(10 * kMs, kGpu, 0x1000, 4096).exit(1 * kSec, 100, 50, "app");
  t.map(2 * kSec, kGpu, 0x5000, 4096, {.pid = 7});
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(findings_of(engine, "dma_leak_owner_exit").empty());
  ASSERT_EQ(engine.mappings().not_judged().size(), 1u);
  EXPECT_EQ(engine.mappings().not_judged()[0].process.pid, 100u);
}

TEST(Mappings, ProbeTimeMappingsBelongToTheDriver) {
  auto t = with_gpu();
  t.stack(3, 1, {"dma_alloc_attrs", "edu_probe", "local_pci_probe", "pci_device_probe", "really_probe.part.0",
                 "__driver_attach", "bus_for_each_dev", "do_one_initcall", "do_init_module"});
  t.proc_info(4, 300, 60, "insmod");
  t.map(10 * kMs, kGpu, 0xa000, 4096, {.api = GT_DMA_COHERENT, .dir = 0, .pid = 300, .comm = "insmod", .stack_id = 1});
  t.exit(20 * kMs, 300, 60, "insmod");
  // The driver holds its ring for a long time after insmod exited, then frees it in remove().
  t.unmap(10 * kSec, kGpu, 0xa000, 4096, {.api = GT_DMA_COHERENT, .dir = 0, .pid = 301, .comm = "rmmod"});
  t.unbind(10 * kSec + kMs, kGpu);
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(engine.findings().empty());
  ASSERT_EQ(engine.mappings().owners().all().size(), 1u);
  EXPECT_EQ(engine.mappings().owners().all()[0].kind, OwnerKind::Driver);
}

// 6.1's nvme grows its PRP dma_pool inside dd's O_DIRECT write: the pool keeps the pages
// after dd exits, and that is not dd's leak (seen in the vm tier's 6.1 guests).
TEST(Mappings, DmaPoolGrowthInASyscallBelongsToTheDriver) {
  auto t = with_gpu();
  t.stack(3, 1, {"dma_alloc_attrs", "pool_alloc_page", "dma_pool_alloc", "nvme_prep_rq.part.0", "nvme_queue_rq",
                 "blk_mq_dispatch_rq_list", "__blk_flush_plug", "blk_finish_plug", "__x64_sys_write"});
  t.proc_info(4, 400, 70, "dd");
  t.map(10 * kMs, kGpu, 0xb000, 4096, {.api = GT_DMA_COHERENT, .dir = 0, .pid = 400, .comm = "dd", .stack_id = 1});
  t.exit(20 * kMs, 400, 70, "dd");
  t.map(5 * kSec, kGpu, 0xc000, 4096, {.pid = 7});  // time passes beyond the grace period
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(findings_of(engine, "dma_leak_owner_exit").empty());
}

TEST(Mappings, InterruptAndKernelThreadMappingsAreKernelOwned) {
  auto t = with_gpu();
  t.proc_info(3, 100, 50, "app");
  t.map(10 * kMs, kGpu, 0x1000, 4096, {.context = GT_CTX_IRQ});
  t.map(11 * kMs, kGpu, 0x2000, 4096, {.pid = 9, .comm = "kworker/u8:2", .context = GT_CTX_KTHREAD});
  t.exit(20 * kMs, 100, 50, "app").map(5 * kSec, kGpu, 0x3000, 4096, {.pid = 7});
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(findings_of(engine, "dma_leak_owner_exit").empty());
}

TEST(Mappings, DoubleUnmapIsUnmatched) {
  auto t = with_gpu();
  t.map(10 * kMs, kGpu, 0x1000, 4096).unmap(11 * kMs, kGpu, 0x1000, 4096).unmap(12 * kMs, kGpu, 0x1000, 4096);
  Engine engine;
  t.feed(engine);
  const auto unmatched = findings_of(engine, "dma_unmap_unmatched");
  ASSERT_EQ(unmatched.size(), 1u);
  EXPECT_EQ(unmatched[0].evidence["reason"], "double_unmap");
  EXPECT_EQ(unmatched[0].evidence["previous_unmap_ns"], 11 * kMs);
  EXPECT_EQ(gpu_stats(engine).by_api[0].unmaps, 2u);
  EXPECT_EQ(gpu_stats(engine).unmaps_of_pre_trace_mappings, 0u);
}

TEST(Mappings, SizeOrDirectionMismatchIsUnmatched) {
  auto t = with_gpu();
  t.map(10 * kMs, kGpu, 0x1000, 4096).unmap(11 * kMs, kGpu, 0x1000, 2048);
  t.map(12 * kMs, kGpu, 0x2000, 4096).unmap(13 * kMs, kGpu, 0x2000, 4096, {.dir = 2});
  Engine engine;
  t.feed(engine);
  const auto unmatched = findings_of(engine, "dma_unmap_unmatched");
  ASSERT_EQ(unmatched.size(), 2u);
  EXPECT_EQ(unmatched[0].evidence["reason"], "mismatch");
  EXPECT_EQ(unmatched[1].evidence["unmap"]["direction"], "from_device");
  EXPECT_EQ(gpu_stats(engine).outstanding, 0u);
}

TEST(Mappings, UnmapOfAnUnknownAddressIsOnlyCounted) {
  auto t = with_gpu();
  t.unmap(10 * kMs, kGpu, 0x7000, 4096).unmap(11 * kMs, kGpu, 0x8000, 4096, {.api = GT_DMA_SG});
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(engine.findings().empty());
  EXPECT_EQ(gpu_stats(engine).unmaps_of_pre_trace_mappings, 2u);
  EXPECT_EQ(gpu_stats(engine).by_api[1].unmaps, 1u);
}

TEST(Mappings, StrictModeReusesAnAddressAtOnce) {
  auto t = with_gpu();
  for (uint64_t i = 0; i < 100; ++i)
    t.map(10 * kMs + i * 10, kGpu, 0xfffff000, 4096).unmap(10 * kMs + i * 10 + 5, kGpu, 0xfffff000, 4096);
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(engine.findings().empty());
  EXPECT_EQ(gpu_stats(engine).by_api[0].maps, 100u);
  EXPECT_EQ(gpu_stats(engine).outstanding, 0u);
}

TEST(Mappings, SgUnmapWithoutLengthMatchesItsMapping) {
  auto t = with_gpu();
  t.map(10 * kMs, kGpu, 0x40000, 3 * 4096, {.api = GT_DMA_SG}).unmap(11 * kMs, kGpu, 0x40000, 0, {.api = GT_DMA_SG});
  Engine engine;
  t.feed(engine);
  EXPECT_TRUE(engine.findings().empty());
  EXPECT_EQ(gpu_stats(engine).by_api[1].unmap_bytes, 3 * 4096u);
}

TEST(Mappings, ReusedPidIsADifferentOwner) {
  auto t = with_gpu();
  t.proc_info(3, 100, 50, "old").map(10 * kMs, kGpu, 0x1000, 4096, {.comm = "old"}).exit(20 * kMs, 100, 50, "old");
  t.fork(30 * kMs, 1, 100, 30 * kMs, "new").map(40 * kMs, kGpu, 0x2000, 4096, {.comm = "new"});
  t.map(5 * kSec, kGpu, 0x3000, 4096, {.pid = 7});
  Engine engine;
  t.feed(engine);
  const auto leaks = findings_of(engine, "dma_leak_owner_exit");
  ASSERT_EQ(leaks.size(), 1u);
  EXPECT_EQ(leaks[0].comm, "old");
  EXPECT_EQ(leaks[0].evidence["bus_address"], "0x1000");
  EXPECT_EQ(leaks[0].evidence["owner"]["start_ns"], 50u);
  const ProcessInfo* now = engine.processes().live(100);
  ASSERT_NE(now, nullptr);
  EXPECT_EQ(now->comm, "new");
}

}  // namespace
}  // namespace gputrace
