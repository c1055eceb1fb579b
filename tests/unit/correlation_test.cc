// Correlation: pcie_stall with its cause, gpu_idle_gc, and the GPU reorder window.
// Every record is synthetic here; tests/scenarios replays real kernel and GC captures.
#include "record_builder.h"

#include "userspace/decode/kinds.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <random>

namespace gputrace {
namespace {

using test::kMs;
using test::kSec;
using test::TraceBuilder;
using test::Link;

constexpr uint32_t kPid = 500;
constexpr uint64_t kNvme = 0xffff888000aa0000;
constexpr uint64_t kMiB = 1 << 20;
constexpr Link kGen4x16{.speed_mts = 16000, .width = 16, .max_speed_mts = 16000, .max_width = 16};  // 31.5 GB/s
constexpr Link kNvmeLink{.speed_mts = 8000, .width = 4, .max_speed_mts = 8000, .max_width = 4, .pci_class = 0x010802};

uint64_t copy_ns(uint64_t bytes, double gb_per_s) { return static_cast<uint64_t>(static_cast<double>(bytes) / gb_per_s); }

// A GPU at 0000:17:00.0 bound to CUDA id 0 of pid 500, an NVMe controller, both strict, and
// ten 64 MiB pinned host-to-device copies at 25 GB/s from 100 ms on, 10 ms apart (one after
// the other on a stream: slower copies start 2 ms after the previous one ends).
TraceBuilder host_with_baseline(Link gpu_link = kGen4x16, double gb_per_s = 25, bool pageable = false) {
  TraceBuilder t;
  t.facts(1, "0000:17:00.0", GT_IOMMU_STRICT, 7, gpu_link);
  t.device(2, kNvme, "0000:00:03.0", "nvme");
  t.facts(3, "0000:00:03.0", GT_IOMMU_STRICT, 3, kNvmeLink);
  t.proc_info(4, kPid, 1, "server");
  t.gpu_device(5, kPid, 0, 0x17);
  const uint64_t length = copy_ns(64 * kMiB, gb_per_s), period = std::max(10 * kMs, length + 2 * kMs);
  for (int i = 0; i < 10; ++i) {
    const uint64_t start = 100 * kMs + i * period;
    t.memcpy(kPid, start, start + length, 64 * kMiB, GT_GPU_COPY_HTOD, pageable);
  }
  return t;
}

// 400 unmaps on the NVMe controller over 40 ms from `from` (10,000/s).
void nvme_unmap_storm(TraceBuilder& t, uint64_t from) {
  for (int i = 0; i < 400; ++i) t.unmap(from + i * 100'000, kNvme, 0x100000 + i * 0x1000, 4096);
}

// The slow copy: 64 MiB over 40 ms from 300 ms (1.7 GB/s).
constexpr uint64_t kSlowStart = 300 * kMs, kSlowEnd = 340 * kMs;

std::unique_ptr<Engine> run(const TraceBuilder& t) {
  auto engine = std::make_unique<Engine>();
  t.feed(*engine);
  return engine;
}

std::vector<Finding> stalls(const Engine& e) { return test::findings_of(e, "pcie_stall"); }

TEST(Correlation, CleanCopiesAreNoStall) {
  auto t = host_with_baseline();
  t.add(gt_loss_event{}, GT_EV_LOSS, 2 * kSec);  // something after the copies
  auto engine = run(t);
  EXPECT_TRUE(stalls(*engine).empty());
  EXPECT_TRUE(test::findings_of(*engine, "gpu_idle_gc").empty());
  EXPECT_EQ(engine->correlation().transfers().stats().judged, 10u);
  const auto& per = engine->correlation().processes().at(kPid);
  EXPECT_EQ(per.memcpys, 10u);
  EXPECT_EQ(per.memcpy_bytes, 640 * kMiB);
}

TEST(Correlation, StrictModeUnmapStormIsNamed) {
  auto t = host_with_baseline();
  for (int i = 0; i < 400; ++i) {  // 10,000 unmaps/s on the strict NVMe during the copy
    t.map(kSlowStart + i * 100'000, kNvme, 0x100000 + i * 0x1000, 4096, {.pid = 0, .comm = "kworker", .context = 2});
    t.unmap(kSlowStart + i * 100'000 + 50'000, kNvme, 0x100000 + i * 0x1000, 4096, {.pid = 0, .comm = "kworker", .context = 2});
  }
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  auto engine = run(t);
  const auto s = stalls(*engine);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].pid, kPid);
  EXPECT_EQ(s[0].comm, "server");
  EXPECT_EQ(s[0].device, "0000:17:00.0");
  EXPECT_EQ(s[0].evidence["cause"], "iommu_unmap_storm");
  EXPECT_EQ(s[0].evidence["cause_evidence"]["strict_unmaps"], 400u);
  EXPECT_EQ(s[0].evidence["cause_evidence"]["devices"][0]["device"], "0000:00:03.0");
  EXPECT_EQ(s[0].evidence["device_binding"], "reported");
  EXPECT_EQ(s[0].evidence["baseline_gbps"], 25.0);
  EXPECT_NE(s[0].message.find("IOMMU unmap storm in strict mode"), std::string::npos) << s[0].message;
}

TEST(Correlation, AProcessThatExitedIsStillNamed) {
  auto t = host_with_baseline();
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  t.exit(kSlowEnd + kMs, kPid, 1, "server");
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].comm, "server");
}

// Unmaps that flush no IOTLB (lazy mode batches the flushes) or that a GPU whose DMA the
// IOMMU does not translate cannot feel: no storm.
TEST(Correlation, UnmapsTheGpuCannotFeelAreNoStorm) {
  struct Case {
    const char* why;
    std::function<void(TraceBuilder&)> facts;
  };
  const Case cases[] = {
      {"lazy NVMe", [](TraceBuilder& t) { t.facts(6, "0000:00:03.0", GT_IOMMU_LAZY, 3, kNvmeLink); }},
      {"identity GPU", [](TraceBuilder& t) { t.facts(6, "0000:17:00.0", GT_IOMMU_IDENTITY, 7, kGen4x16); }},
  };
  for (const Case& c : cases) {
    auto t = host_with_baseline();
    c.facts(t);
    nvme_unmap_storm(t, kSlowStart);
    t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
    const auto s = stalls(*run(t));
    ASSERT_EQ(s.size(), 1u) << c.why;
    EXPECT_EQ(s[0].evidence["cause"], "unknown") << c.why;
  }
}

TEST(Correlation, GcPauseOfTheIssuingProcess) {
  auto t = host_with_baseline();
  t.gc_pause(kPid, kSlowStart + 2 * kMs, 30 * kMs);
  t.gc_pause(kPid + 1, kSlowStart, 40 * kMs);  // another process: not a cause
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB, GT_GPU_COPY_HTOD, /*pageable=*/true);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].evidence["cause"], "gc_pause");
  EXPECT_EQ(s[0].evidence["cause_evidence"]["overlap_ns"], 30 * kMs);
  EXPECT_EQ(s[0].evidence["other_causes"], nlohmann::ordered_json::array({"pageable_memory"}));
}

// A pinned copy is the DMA engine's alone: a GC pause overlapping it is listed, not blamed.
TEST(Correlation, GcPauseDuringAPinnedCopyIsNotItsCause) {
  auto t = host_with_baseline();
  t.gc_pause(kPid, kSlowStart + 2 * kMs, 30 * kMs);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].evidence["cause"], "unknown");
  EXPECT_EQ(s[0].evidence["other_causes"], nlohmann::ordered_json::array({"gc_pause"}));
}

// A pause is recorded when it ends. Its begin marker keeps the copies of its process
// waiting, however long the collection runs.
TEST(Correlation, AGcPauseLongerThanTheGpuWindowStillExplainsTheCopy) {
  auto t = host_with_baseline();
  const uint64_t begin = kSlowStart - 100 * kMs, length = 3 * kSec;
  t.gc_begin(kPid, begin);
  t.gc_pause(kPid, begin, length);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB, GT_GPU_COPY_HTOD, /*pageable=*/true);
  for (uint64_t ts = 400 * kMs; ts < 5 * kSec; ts += 50 * kMs) t.loss(ts, "ring_full_bulk", 0);
  auto engine = run(t);
  const auto s = stalls(*engine);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].evidence["cause"], "gc_pause");
  EXPECT_EQ(engine->correlation().stats().open_pause_expired, 0u);
}

// A pause whose end never comes (its record lost) holds the process's GPU work only for
// history_span, then the work is judged without it and counted.
TEST(Correlation, AnOpenPauseIsWaitedForOnlySoLong) {
  EngineConfig config;
  config.correlation.history_span_ns = 5 * kSec;
  auto t = host_with_baseline();
  t.gc_begin(kPid, kSlowStart - kMs);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  for (uint64_t ts = 400 * kMs; ts < 10 * kSec; ts += 50 * kMs) t.loss(ts, "ring_full_bulk", 0);
  Engine engine(config);
  t.feed(engine, /*finish=*/false);
  EXPECT_EQ(engine.correlation().stats().open_pause_expired, 1u);
  EXPECT_EQ(test::findings_of(engine, "pcie_stall").size(), 1u);
}

// Two copies on two streams at 12 GB/s each: the link carries 24 GB/s, which is normal.
TEST(Correlation, CopiesSharingTheLinkAreNoStall) {
  auto t = host_with_baseline();
  t.memcpy(kPid, kSlowStart, kSlowStart + copy_ns(64 * kMiB, 12), 64 * kMiB);
  t.memcpy(kPid, kSlowStart + kMs, kSlowStart + kMs + copy_ns(64 * kMiB, 12), 64 * kMiB);
  auto engine = run(t);
  EXPECT_TRUE(stalls(*engine).empty());
  EXPECT_EQ(engine->correlation().transfers().stats().shared_link, 2u);
}

// ... but two copies crawling together are still a stall, and say the link was shared.
TEST(Correlation, CopiesCrawlingTogetherAreAStall) {
  auto t = host_with_baseline();
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].evidence["copies"], 2u);
  EXPECT_EQ(s[0].evidence["slowest_other_copies"], 1u);
  EXPECT_NE(s[0].message.find("with 1 other copy in flight"), std::string::npos) << s[0].message;
}

TEST(Correlation, SwiotlbBouncesOnTheDevice) {
  auto t = host_with_baseline();
  t.device(6, 0xffff888000bb0000, "0000:17:00.0");
  for (int i = 0; i < 64; ++i) t.swiotlb(kSlowStart + i * 500'000, 0xffff888000bb0000, 256 << 10);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].evidence["cause"], "swiotlb_bounce");
  EXPECT_EQ(s[0].evidence["cause_evidence"]["bounces"], 64u);
}

TEST(Correlation, FaultsAndAerErrorsOnTheDeviceComeFirst) {
  auto t = host_with_baseline();
  t.gc_pause(kPid, kSlowStart, 20 * kMs);  // also overlaps the first slow copy: a lesser cause
  gt_aer_event aer{};
  std::strcpy(aer.name, "0000:17:00.0");
  aer.severity = 2;  // corrected
  t.add(aer, GT_EV_AER, kSlowStart + 5 * kMs);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  t.fault(600 * kMs + 3 * kMs, "0000:17:00.0", 0xdead000);
  t.memcpy(kPid, 600 * kMs, 640 * kMs, 64 * kMiB);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].evidence["cause"], "aer_error");
  EXPECT_EQ(s[0].evidence["other_causes"][0], "gc_pause");
  EXPECT_EQ(s[1].evidence["cause"], "iommu_fault");
  EXPECT_EQ(s[1].evidence["cause_evidence"]["first_iova"], "0xdead000");
}

TEST(Correlation, DowntrainedLinkMakesEveryLargeCopyOneStall) {
  // 2.5 GT/s x16 of 16 GT/s x16: 4 GB/s of 31.5; copies run at 3.8 GB/s.
  const auto t = host_with_baseline({.speed_mts = 2500, .width = 16, .max_speed_mts = 16000, .max_width = 16}, 3.8);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].evidence["cause"], "link_downtrained");
  EXPECT_EQ(s[0].evidence["copies"], 10u);
  EXPECT_EQ(s[0].evidence["baseline_gbps"], nullptr);  // learned on the sick link: not trusted
  EXPECT_EQ(s[0].severity, Severity::Warning);
}

// A link narrower than it should be explains a copy that ran at about what it carries,
// not one far below even that.
TEST(Correlation, ANarrowLinkDoesNotExplainACopyFarBelowIt) {
  // 8 GT/s x16 of 16 GT/s x16: 15.75 GB/s of 31.5; the slow copy runs at 1.7 GB/s.
  auto t = host_with_baseline({.speed_mts = 8000, .width = 16, .max_speed_mts = 16000, .max_width = 16}, 14);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 2u);  // the copies at 14 GB/s (under half the full link), then the slow one
  EXPECT_EQ(s[0].evidence["cause"], "link_downtrained");
  EXPECT_EQ(s[1].evidence["cause"], "unknown");
  EXPECT_EQ(s[1].evidence["other_causes"], nlohmann::ordered_json::array({"link_downtrained"}));
}

// GPUs lower their link speed when idle: a reading below what a copy achieved is stale.
TEST(Correlation, ALinkReadingBelowWhatCopiesAchieveIsStale) {
  auto t = host_with_baseline({.speed_mts = 2500, .width = 16, .max_speed_mts = 16000, .max_width = 16}, 25);
  t.memcpy(kPid, kSlowStart, kSlowStart + copy_ns(64 * kMiB, 8), 64 * kMiB);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);  // the 25 GB/s copies are fine; the 8 GB/s one is below its baseline
  EXPECT_EQ(s[0].evidence["cause"], "unknown");
  EXPECT_EQ(s[0].evidence["other_causes"], nlohmann::ordered_json::array());
}

TEST(Correlation, PageableMemory) {
  const auto t = host_with_baseline(kGen4x16, 6, /*pageable=*/true);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].evidence["cause"], "pageable_memory");
  EXPECT_EQ(s[0].evidence["host_memory"], "pageable");
}

TEST(Correlation, SmallCopiesAndDeviceToDeviceAreNotJudged) {
  auto t = host_with_baseline();
  t.memcpy(kPid, kSlowStart, kSlowEnd, 1 * kMiB);                       // small
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB, GT_GPU_COPY_DTOD);    // no PCIe
  auto engine = run(t);
  EXPECT_TRUE(stalls(*engine).empty());
  EXPECT_EQ(engine->correlation().transfers().stats().copies, 12u);
  EXPECT_EQ(engine->correlation().transfers().stats().judged, 10u);
}

TEST(Correlation, WithoutADeviceRecordTheOnlyGpuIsAssumed) {
  TraceBuilder t;
  t.facts(1, "0000:17:00.0", GT_IOMMU_STRICT, 7, kGen4x16);
  t.memcpy(kPid, 100 * kMs, 140 * kMs, 64 * kMiB);
  const auto s = stalls(*run(t));
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].device, "0000:17:00.0");
  EXPECT_EQ(s[0].evidence["device_binding"], "assumed_pci_order");
  EXPECT_EQ(s[0].evidence["baseline_gbps"], nullptr);
}

TEST(Correlation, GpuIdleDuringGcPause) {
  auto t = host_with_baseline();
  // kernels back to back, then a 20 ms gap of which a GC pause covers 15 ms, twice; a third
  // pause ends 10 ms before the launch: the process had nothing to launch, not GC's doing
  uint64_t ts = 400 * kMs;
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 5; ++i, ts += kMs) t.gpu_kernel(kPid, ts, ts + kMs);
    t.gc_pause(kPid, ts + 4 * kMs, 15 * kMs);  // ends 1 ms before the next launch
    ts += 20 * kMs;
  }
  t.gpu_kernel(kPid, ts, ts + kMs);
  t.gc_pause(kPid, ts + 2 * kMs, 5 * kMs);
  t.gpu_kernel(kPid, ts + 17 * kMs, ts + 18 * kMs);
  auto engine = run(t);
  const auto idle = test::findings_of(*engine, "gpu_idle_gc");
  ASSERT_EQ(idle.size(), 1u);
  EXPECT_EQ(idle[0].evidence["pauses"], 2u);
  EXPECT_EQ(idle[0].evidence["idle_ns"], 30 * kMs);
  EXPECT_EQ(idle[0].device, "0000:17:00.0");
  EXPECT_EQ(engine->correlation().processes().at(kPid).idle_gc_ns, 30 * kMs);
}

// GPU batches reach the daemon up to a flush period late and out of order among themselves.
TEST(Correlation, LateShuffledGpuRecordsGiveTheSameFindings) {
  auto t = host_with_baseline();
  t.gc_pause(kPid, kSlowStart + 2 * kMs, 30 * kMs);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  nvme_unmap_storm(t, 600 * kMs);
  t.memcpy(kPid, 600 * kMs, 640 * kMs, 64 * kMiB);
  for (uint64_t ts = 700 * kMs; ts < 3 * kSec; ts += 50 * kMs) t.loss(ts, "ring_full_bulk", 0);  // the kernel stream goes on

  auto in_order = [&] {
    std::vector<Record> r = t.records();
    std::stable_sort(r.begin(), r.end(), [](const Record& a, const Record& b) { return a.ts() < b.ts(); });
    return r;
  }();
  // Arrival order: kernel records as they happen, GPU records shuffled and delivered
  // 100..600 ms after they started.
  std::vector<Record> late = t.records();
  std::mt19937 rng(7);
  std::vector<std::pair<uint64_t, Record>> arrivals;
  for (const Record& r : late) {
    const bool gpu = is_gpu_activity_kind(r.header.kind);
    arrivals.emplace_back(r.ts() + (gpu ? 100 * kMs + rng() % (500 * kMs) : 0), r);
  }
  std::stable_sort(arrivals.begin(), arrivals.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  auto findings_of = [](const std::vector<Record>& records) {
    Engine engine;
    for (const Record& r : records) engine.push(r);
    engine.finish();
    std::vector<std::string> out;
    for (const Finding& f : engine.findings()) out.push_back(std::string(f.kind_name()) + " " + f.message + " " + f.evidence.dump());
    return std::make_pair(out, engine.stats().late_gpu_records);
  };
  std::vector<Record> shuffled;
  for (auto& [at, r] : arrivals) shuffled.push_back(r);
  const auto [expected, late_a] = findings_of(in_order);
  const auto [got, late_b] = findings_of(shuffled);
  ASSERT_EQ(expected.size(), 2u);
  EXPECT_EQ(got, expected);
  EXPECT_EQ(late_b, 0u);
}

TEST(Correlation, GpuRecordsProcessedOutOfOrderAreCounted) {
  TraceBuilder t;
  t.gpu_kernel(kPid, 2 * kSec, 2 * kSec + kMs);
  t.loss(5 * kSec, "ring_full_bulk", 0);         // releases GPU records up to ~4 s
  t.gpu_kernel(kPid, 1 * kSec, 1 * kSec + kMs);  // after a later one went on
  auto engine = run(t);
  EXPECT_EQ(engine->stats().late_gpu_records, 1u);
  EXPECT_EQ(engine->correlation().processes().at(kPid).kernels, 2u);
}

// GPU records come from the served process: one stamped an hour ahead (a CUPTI clock that
// was never aligned) must not drag the kernel stream's watermark along.
TEST(Correlation, AFutureGpuRecordDoesNotMoveTheKernelClock) {
  auto trace = [](bool with_future_record) {
    auto t = host_with_baseline();
    if (with_future_record) t.gpu_kernel(kPid, 3600 * kSec, 3600 * kSec + kMs);
    nvme_unmap_storm(t, 600 * kMs);
    t.memcpy(kPid, 600 * kMs, 640 * kMs, 64 * kMiB);
    for (uint64_t ts = 700 * kMs; ts < 3 * kSec; ts += 50 * kMs) t.loss(ts, "ring_full_bulk", 0);
    return t;
  };
  Engine clean, engine;
  trace(false).feed(clean, /*finish=*/false);
  trace(true).feed(engine, /*finish=*/false);
  EXPECT_EQ(engine.stats().late_records, 0u);
  EXPECT_EQ(engine.stats().late_gpu_records, 0u);
  EXPECT_EQ(engine.stats().max_held_records, clean.stats().max_held_records + 1);  // itself, nothing more
  ASSERT_EQ(test::findings_of(engine, "pcie_stall").size(), 1u);  // concluded before the end of input
  EXPECT_EQ(test::findings_of(engine, "pcie_stall")[0].evidence["cause"], "iommu_unmap_storm");
}

// Live: a stall is reported while the process is quiet, not when it next copies.
TEST(Correlation, AStallIsConcludedWhileTheProcessIsQuiet) {
  auto t = host_with_baseline();
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  Engine engine;
  t.feed(engine, /*finish=*/false);
  EXPECT_TRUE(test::findings_of(engine, "pcie_stall").empty());
  // merge gap (1 s) + GPU window (1 s) past the copy, with only the clock moving
  for (uint64_t now = kSlowEnd; now < kSlowEnd + 3 * kSec; now += 100 * kMs) engine.advance_to(now);
  EXPECT_EQ(test::findings_of(engine, "pcie_stall").size(), 1u);
}

// With no kernel stream to follow (a capture of GPU records only), what waits is bounded.
TEST(Correlation, HeldGpuRecordsAreBounded) {
  EngineConfig config;
  config.max_held_gpu_records = 100;
  config.correlation.max_pending_activities = 50;
  Engine engine(config);
  TraceBuilder t;
  for (int i = 0; i < 1000; ++i) t.gpu_kernel(kPid, kSec + i * kMs, kSec + i * kMs + 100'000);
  t.feed(engine, /*finish=*/false);
  EXPECT_LE(engine.stats().max_held_records, 101u);
  EXPECT_GT(engine.stats().gpu_released_early, 0u);
  EXPECT_GT(engine.correlation().stats().pending_dropped, 0u);
  engine.finish();
  EXPECT_EQ(engine.correlation().processes().at(kPid).kernels, 1000u);
}

// Every list the correlation keeps is bounded; what does not fit is counted, never silent.
TEST(Correlation, KernelHistoryAndHealthEventsAreBounded) {
  EngineConfig config;
  config.correlation.max_history_entries = 10;
  config.max_kept_health_events = 2;
  auto t = host_with_baseline();
  nvme_unmap_storm(t, kSlowStart);
  for (int i = 0; i < 5; ++i) t.fault(kSlowStart + i * kMs, "0000:17:00.0", 0x1000 * i);
  t.memcpy(kPid, kSlowStart, kSlowEnd, 64 * kMiB);
  Engine engine(config);
  t.feed(engine);
  EXPECT_GT(engine.correlation().history().entries_dropped(), 0u);
  EXPECT_EQ(engine.health().events_not_kept(), 3u);
  const auto s = stalls(engine);
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].evidence["cause"], "iommu_fault");  // the two faults kept still explain it
  EXPECT_EQ(s[0].evidence["cause_evidence"]["faults"], 2u);
}

}  // namespace
}  // namespace gputrace
