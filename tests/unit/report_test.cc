// Report writers against golden files, diffed in full. Regenerate after an intended change:
//   GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='Report*'
#include "record_builder.h"
#include "report/report.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace gputrace {
namespace {

using test::kMs;
using test::kSec;
using test::MapOpts;
using test::TraceBuilder;

constexpr uint64_t kGpu = 0xffff888100a00000;
constexpr uint64_t kNvme = 0xffff888100b00000;
constexpr uint64_t kEdu = 0xffff888100c00000;

// An inference host: a GPU whose driver holds a ring from probe time, an NVMe disk doing
// I/O from interrupts, a serving process that leaks two buffers and exits, a test device
// whose driver unbinds with a mapping still out, a double unmap and a burst of faults.
TraceBuilder scenario() {
  TraceBuilder t;
  t.facts(1, "0000:41:00.0", GT_IOMMU_STRICT, 12).facts(2, "0000:01:00.0", GT_IOMMU_LAZY, 3);
  t.facts(3, "0000:00:04.0", GT_IOMMU_STRICT, 5);
  t.proc_info(10, 900, 500, "insmod", "/usr/sbin/insmod").proc_info(11, 4242, 600, "python3", "/usr/bin/python3.11");
  t.device(20, kGpu, "0000:41:00.0", "nvidia").device(21, kNvme, "0000:01:00.0", "nvme");
  t.device(22, kEdu, "0000:00:04.0", "gputrace_edu");
  t.stack(30, 1, {"dma_alloc_attrs", "gpu_ring_init", "gpu_probe", "local_pci_probe", "pci_device_probe",
                  "really_probe", "__driver_attach", "do_init_module"});
  t.stack(31, 2, {"dma_map_page_attrs", "uvm_map_buffer", "uvm_ioctl", "__x64_sys_ioctl", "do_syscall_64"});
  t.stack(32, 3, {"__dma_map_sg_attrs", "nvme_map_data", "nvme_queue_rq", "blk_mq_dispatch_rq_list"});
  t.map(1 * kMs, kGpu, 0xfff00000, 1 << 20, {.api = GT_DMA_COHERENT, .dir = 0, .pid = 900, .comm = "insmod", .stack_id = 1});
  t.exit(2 * kMs, 900, 500, "insmod");
  for (uint64_t i = 0; i < 4; ++i)
    t.map(10 * kMs + i * kMs, kGpu, 0xffe00000 + i * 0x10000, 65536, {.pid = 4242, .comm = "python3", .stack_id = 2});
  t.unmap(20 * kMs, kGpu, 0xffe00000, 65536, {.pid = 4242, .comm = "python3"});
  t.unmap(21 * kMs, kGpu, 0xffe10000, 65536, {.pid = 4242, .comm = "python3"});
  for (uint64_t i = 0; i < 3; ++i) {
    const uint64_t ts = 30 * kMs + i * kMs, iova = 0xfe000000 + i * 0x4000;
    t.iommu_map(ts, iova, 4096).iommu_map(ts + 1, iova + 0x1000, 4096);
    t.map(ts + 2, kNvme, iova, 8192, {.api = GT_DMA_SG, .dir = 2, .pid = 77, .comm = "fio", .stack_id = 3});
    t.iommu_unmap(ts + 500'000, iova, 8192);
    t.unmap(ts + 500'001, kNvme, iova, 8192, {.api = GT_DMA_SG, .dir = 2, .pid = 0, .comm = "swapper/1", .context = GT_CTX_IRQ});
  }
  t.unmap(40 * kMs, kNvme, 0xfd000000, 4096, {.api = GT_DMA_SG, .dir = 2, .pid = 0, .comm = "swapper/0", .context = GT_CTX_IRQ});
  t.exit(100 * kMs, 4242, 600, "python3");
  t.map(150 * kMs, kEdu, 0x100000, 4096, {.pid = 1, .comm = "systemd", .context = GT_CTX_KTHREAD});
  t.map(151 * kMs, kEdu, 0x101000, 2048, {.dir = 2, .pid = 1, .comm = "systemd", .context = GT_CTX_KTHREAD});
  t.unmap(152 * kMs, kEdu, 0x101000, 2048, {.dir = 2, .pid = 1, .comm = "systemd"});
  t.unmap(153 * kMs, kEdu, 0x101000, 2048, {.dir = 2, .pid = 1, .comm = "systemd"});
  for (uint64_t i = 0; i < 3; ++i) t.fault(200 * kMs + i * kMs, "0000:00:04.0", 0x200000);
  t.unbind(3 * kSec, kEdu, "gputrace_edu", 1000);
  t.loss(3 * kSec + 1, "ring_full_bulk", 0).loss(3 * kSec + 2, "missed:dma_map_page_attrs", 2);
  return t;
}

ReportHeader scenario_header() {
  ReportHeader h;
  h.source = "scenario.gtrace";
  h.host.hostname = "infer-07";
  h.host.kernel_release = "6.12.48+deb13-cloud-amd64";
  h.host.boot_id = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0";
  h.host.gputrace_version = "0.1.0";
  h.input_losses["decode_errors"] = 0;
  return h;
}

std::string render(ReportFormat format) {
  const TraceBuilder trace = scenario();
  Engine engine;
  trace.feed(engine);
  std::ostringstream out;
  write_report(build_report_model(engine, scenario_header()), format, out);
  return out.str();
}

void expect_golden(const std::string& actual, const std::string& name) {
  const std::string path = std::string(GPUTRACE_SOURCE_DIR) + "/tests/golden/" + name;
  if (std::getenv("GPUTRACE_UPDATE_GOLDEN")) {
    std::ofstream(path) << actual;
    GTEST_SKIP() << "wrote " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden file " << path << " (GPUTRACE_UPDATE_GOLDEN=1 writes it)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "report differs from " << path;
}

TEST(Report, JsonMatchesGolden) { expect_golden(render(ReportFormat::Json), "report_scenario.json"); }

TEST(Report, TextMatchesGolden) { expect_golden(render(ReportFormat::Text), "report_scenario.txt"); }

TEST(Report, SameInputSameBytes) { EXPECT_EQ(render(ReportFormat::Json), render(ReportFormat::Json)); }

TEST(Report, ScenarioFindingsAreTheExpectedOnes) {
  const TraceBuilder trace = scenario();
  Engine engine;
  trace.feed(engine);
  const auto model = build_report_model(engine, scenario_header());
  EXPECT_EQ(model["schema"], "gputrace.report/1");
  const auto& by_kind = model["summary"]["by_kind"];
  EXPECT_EQ(by_kind["dma_leak_owner_exit"], 2);  // python3's two buffers; not insmod's ring
  EXPECT_EQ(by_kind["dma_leak_unbind"], 1);      // edu's 0x100000
  EXPECT_EQ(by_kind["dma_unmap_unmatched"], 1);  // the double unmap
  EXPECT_EQ(by_kind["iommu_fault"], 1);          // three faults within a second
  EXPECT_EQ(model["findings"][0]["severity"], "critical");
  bool saw_decode_errors = false;
  for (const auto& l : model["losses"]) saw_decode_errors |= l["name"] == "decode_errors";
  EXPECT_TRUE(saw_decode_errors);
}

}  // namespace
}  // namespace gputrace
