// HostSnapshot: what top and the exporters see of an engine run.
#include "record_builder.h"
#include "report_scenario.h"

#include "userspace/capture/capture.h"
#include "userspace/gc/pause_stats.h"
#include "userspace/model/host_snapshot.h"

namespace gputrace {
namespace {

using test::kMs;
using test::kSec;
using test::MapOpts;
using test::TraceBuilder;

constexpr uint64_t kGpu = 0xffff888001234000;

TEST(HostSnapshot, ProcessesDevicesLossesAndPauseHistogram) {
  TraceBuilder t;
  t.device(1, kGpu, "0000:17:00.0").facts(2, "0000:17:00.0", GT_IOMMU_STRICT);
  t.proc_info(3, 100, 50, "server");
  for (int i = 0; i < 4; ++i) t.map(10 * kMs + i, kGpu, 0x10000 + i * 0x1000, 4096, MapOpts{.pid = 100, .comm = "server"});
  t.unmap(20 * kMs, kGpu, 0x10000, 4096, MapOpts{.pid = 100, .comm = "server"});
  // pauses of 80 us, 300 us and 3 ms
  t.gc_pause(100, 30 * kMs, 80'000).gc_pause(100, 40 * kMs, 300'000).gc_pause(100, 50 * kMs, 3'000'000);
  t.loss(60 * kMs, "ring_full_bulk", 7);

  Engine engine;
  gc::PauseStats pauses;
  engine.set_record_observer([&](const Record& r) { pauses.on_record(r); });
  t.feed(engine);

  CaptureHostInfo host;
  host.hostname = "gpu-host-1";
  host.kernel_release = "6.18.0";
  HostSnapshot s = take_snapshot({.engine = &engine, .pauses = &pauses, .host = &host,
                                  .caller_losses = {{"decode_errors", 2, "input"}},
                                  .container_of = [](uint32_t) { return std::string("abc123"); }});
  EXPECT_EQ(s.source.hostname, "gpu-host-1");
  EXPECT_EQ(s.taken_ns, 60 * kMs);
  EXPECT_EQ(s.records.processed, t.size());
  EXPECT_EQ(s.records.by_source["dma"], 6u);  // device + 4 maps + unmap
  EXPECT_EQ(s.records.by_source["gc"], 3u);

  ASSERT_EQ(s.devices.size(), 1u);
  const DeviceRow& d = s.devices[0];
  EXPECT_TRUE(d.gpu);
  EXPECT_EQ(d.iommu_mode, "strict");
  EXPECT_TRUE(d.link_downtrained);  // the builder's facts: 16 GT/s of 32
  EXPECT_EQ(d.dma_maps, 4u);
  EXPECT_EQ(d.dma_unmaps, 1u);
  EXPECT_EQ(d.dma_outstanding, 3u);
  EXPECT_EQ(d.dma_outstanding_bytes, 3u * 4096);

  ASSERT_EQ(s.processes.size(), 1u);
  const ProcessRow& p = s.processes[0];
  EXPECT_EQ(p.pid, 100u);
  EXPECT_EQ(p.comm, "server");
  EXPECT_EQ(p.container, "abc123");
  EXPECT_EQ(p.runtime, "cpython");
  EXPECT_EQ(p.dma_maps, 4u);
  EXPECT_EQ(p.dma_outstanding, 3u);
  EXPECT_EQ(p.gc_pauses, 3u);
  EXPECT_EQ(p.gc_pause_ns, 3'380'000u);
  EXPECT_EQ(p.gc_histogram.count, 3u);
  EXPECT_EQ(p.gc_histogram.cumulative[0], 0u);   // <= 50 us
  EXPECT_EQ(p.gc_histogram.cumulative[1], 1u);   // <= 100 us
  EXPECT_EQ(p.gc_histogram.cumulative[3], 2u);   // <= 500 us
  EXPECT_EQ(p.gc_histogram.cumulative[6], 3u);   // <= 5 ms
  EXPECT_EQ(p.gc_histogram.cumulative.back(), 3u);

  const auto losses = losses_by_name(s.losses);
  EXPECT_EQ(losses.at("ring_full_bulk"), 7u);
  EXPECT_EQ(losses.at("decode_errors"), 2u);
  EXPECT_TRUE(losses.contains("late_records"));
}

// A process seen only by its GC pauses (no mapping, no finding) keeps its name after it exits.
TEST(HostSnapshot, ExitedProcessKeepsItsName) {
  TraceBuilder t;
  t.proc_info(1, 300, 50, "gcworker");
  t.gc_pause(300, 10 * kMs, 200'000);
  t.exit(20 * kMs, 300, 50, "gcworker");
  Engine engine;
  gc::PauseStats pauses;
  engine.set_record_observer([&](const Record& r) { pauses.on_record(r); });
  t.feed(engine);
  const HostSnapshot s = take_snapshot({.engine = &engine, .pauses = &pauses});
  ASSERT_EQ(s.processes.size(), 1u);
  EXPECT_EQ(s.processes[0].comm, "gcworker");
  EXPECT_TRUE(s.processes[0].exited);
}

// /proc/PID/cgroup goes with the process: the container id learned while it ran stays, so
// its exporter series keep their labels for its whole life.
TEST(HostSnapshot, ContainerIdIsKeptAfterTheProcessExits) {
  TraceBuilder running;
  running.proc_info(1, 300, 50, "server");
  running.gc_pause(300, 10 * kMs, 200'000);
  TraceBuilder exiting;
  exiting.exit(20 * kSec, 300, 50, "server");
  Engine engine;
  gc::PauseStats pauses;
  engine.set_record_observer([&](const Record& r) { pauses.on_record(r); });
  ProcessIdentities identities;
  auto alive = [&](uint32_t pid) { return engine.processes().live(pid) ? std::string("abc123") : std::string(); };
  running.feed(engine, false);
  engine.advance_to(10 * kSec);
  HostSnapshot s = take_snapshot({.engine = &engine, .pauses = &pauses, .container_of = alive, .identities = &identities});
  ASSERT_EQ(s.processes.size(), 1u);
  EXPECT_EQ(s.processes[0].container, "abc123");
  exiting.feed(engine);
  s = take_snapshot({.engine = &engine, .pauses = &pauses, .container_of = alive, .identities = &identities});
  ASSERT_EQ(s.processes.size(), 1u);
  EXPECT_TRUE(s.processes[0].exited);
  EXPECT_EQ(s.processes[0].container, "abc123");
  EXPECT_EQ(s.processes[0].runtime, "cpython");
  // Without the identities the exited process has no container any more.
  s = take_snapshot({.engine = &engine, .pauses = &pauses, .container_of = alive});
  EXPECT_EQ(s.processes[0].container, "");
}

// A driver's probe-time mappings that leak at unbind are findings naming the process that
// loaded it (insmod): its LEAKS must count them, as its FIND does.
TEST(HostSnapshot, DriverOwnedLeaksCountForTheProcessThatProbed) {
  constexpr uint64_t kEdu = 0xffff888100c00000;
  TraceBuilder t;
  t.device(1, kEdu, "0000:00:04.0", "gputrace_edu");
  t.proc_info(2, 392, 5, "insmod");
  t.stack(3, 1, {"dma_alloc_attrs", "edu_probe", "local_pci_probe", "pci_device_probe", "really_probe", "do_init_module"});
  t.map(10 * kMs, kEdu, 0x100000, 4096, {.api = GT_DMA_COHERENT, .pid = 392, .comm = "insmod", .stack_id = 1});
  t.unbind(kSec, kEdu, "gputrace_edu");
  Engine engine;
  t.feed(engine);
  ASSERT_EQ(engine.findings().size(), 1u);
  ASSERT_EQ(engine.findings()[0].pid, 392u);
  const HostSnapshot s = take_snapshot({.engine = &engine});
  ASSERT_EQ(s.processes.size(), 1u);
  EXPECT_EQ(s.processes[0].comm, "insmod");
  EXPECT_EQ(s.processes[0].dma_leaks, 1u);
  EXPECT_EQ(s.processes[0].findings, 1u);
  EXPECT_EQ(s.processes[0].dma_maps, 0u);  // the driver's, not the process's
}

// A snapshot carries the newest findings only when asked (top), with exact counts.
TEST(HostSnapshot, KeepsTheNewestFindingsAndExactCounts) {
  Engine engine;
  test::scenario().feed(engine);
  ASSERT_EQ(engine.findings().size(), 5u);
  const HostSnapshot s = take_snapshot({.engine = &engine, .max_findings = 2});
  ASSERT_EQ(s.findings.size(), 2u);
  EXPECT_EQ(s.findings[0].kind, engine.findings()[3].kind);
  EXPECT_EQ(s.findings[1].kind, engine.findings()[4].kind);
  EXPECT_EQ(s.findings_total, 5u);
  EXPECT_EQ(s.findings_by_severity.at("critical"), 3u);
  EXPECT_EQ(s.findings_by_severity.at("warning"), 2u);
  EXPECT_EQ(s.findings_by_severity.at("info"), 0u);
  EXPECT_EQ(s.findings_by_kind.at("dma_leak_owner_exit"), 2u);
  EXPECT_EQ(take_snapshot({.engine = &engine}).findings.size(), 5u);  // the daemon's: all
}

}  // namespace
}  // namespace gputrace
