// The report scenario: an inference host's trace that the report golden files and the view
// tests share. with_runtime_activity adds what the views draw besides DMA: CPython GC pauses
// of the serving process, and GPU kernels, a copy and a memset it launched (as the CUPTI
// library sends them).
#pragma once

#include "record_builder.h"
#include "userspace/pipeline/pipeline.h"
#include "exporters/report/report.h"
#include "userspace/snapshot/snapshot_builder.h"

extern "C" {
#include "bpf/gc.h"
#include "bpf/gpu.h"
}

#include <string>
#include <vector>

namespace gputrace::test {

constexpr uint64_t kGpu = 0xffff888100a00000;
constexpr uint64_t kNvme = 0xffff888100b00000;
constexpr uint64_t kEdu = 0xffff888100c00000;

// An inference host: a GPU whose driver holds a ring from probe time, an NVMe disk doing
// I/O from interrupts, a serving process that leaks two buffers and exits, a test device
// whose driver unbinds with a mapping still out, a double unmap and a burst of faults.
// A GC pause and a kernel before python3's mappings (records in time order).
inline void add_runtime_activity_before_maps(TraceBuilder& t) {
  t.gc_pause(4242, 4 * kMs, 300'000, 0, 120);
  const std::string name = "ampere_sgemm_128x64_tn";
  gt_gpu_name_event n{};
  n.name_id = 1;
  n.name_len = static_cast<uint32_t>(name.size());
  std::vector<std::byte> tail;
  for (char c : name) tail.push_back(static_cast<std::byte>(c));
  tail.push_back(std::byte{0});
  t.add(n, GT_EV_GPU_NAME, 5 * kMs, 4242, tail);
  gt_gpu_kernel_event k{};
  k.end_ns = 8 * kMs;
  k.name_id = 1;
  k.stream_id = 7;
  k.grid[0] = 64, k.grid[1] = 2, k.grid[2] = 1;
  k.block[0] = 128, k.block[1] = 1, k.block[2] = 1;
  t.add(k, GT_EV_GPU_KERNEL, 6 * kMs, 4242);
}

// A copy, a memset and two more GC pauses while the mappings are out.
inline void add_runtime_activity_after_maps(TraceBuilder& t) {
  gt_gpu_memcpy_event c{};
  c.end_ns = 15 * kMs;
  c.bytes = 1 << 20;
  c.stream_id = 7;
  c.copy_kind = GT_GPU_COPY_HTOD;
  t.add(c, GT_EV_GPU_MEMCPY, 14 * kMs, 4242);
  gt_gpu_memset_event m{};
  m.end_ns = 16 * kMs + 50'000;
  m.bytes = 4096;
  m.stream_id = 7;
  t.add(m, GT_EV_GPU_MEMSET, 16 * kMs, 4242);
  t.gc_pause(4242, 17 * kMs, 1'200'000, 1, 3400);
  t.gc_pause(4242, 60 * kMs, 4'000'000, 2, 51000);
}

inline TraceBuilder scenario(bool with_runtime_activity = false) {
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
  if (with_runtime_activity) add_runtime_activity_before_maps(t);
  for (uint64_t i = 0; i < 4; ++i)
    t.map(10 * kMs + i * kMs, kGpu, 0xffe00000 + i * 0x10000, 65536, {.pid = 4242, .comm = "python3", .stack_id = 2});
  if (with_runtime_activity) add_runtime_activity_after_maps(t);
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

// Where the scenario "came from", as the report's source says.
inline const CaptureHostInfo& scenario_host() {
  static const CaptureHostInfo host{.hostname = "infer-07",
                                    .kernel_release = "6.12.48+deb13-cloud-amd64",
                                    .boot_id = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
                                    .gputrace_version = "0.1.0"};
  return host;
}

// A replay's read model of what the engine analysed (GC pauses when given).
inline HostSnapshot scenario_snapshot(const Engine& engine, const gc::PauseStats* pauses = nullptr) {
  SnapshotInputs in{.engine = &engine, .pauses = pauses, .host = &scenario_host(), .source_path = "scenario.gtrace"};
  in.caller_losses.push_back({"decode_errors", 0, "input"});
  return take_snapshot(in);
}

inline nlohmann::ordered_json scenario_json(const Engine& engine) {
  return nlohmann::ordered_json::parse(render_report_json(scenario_snapshot(engine)));
}

// The same through a Pipeline, as the commands build it.
inline PipelineInput scenario_input() { return {.path = "scenario.gtrace", .host = scenario_host()}; }

}  // namespace gputrace::test
