// A fixed HostSnapshot, spans and findings for the exporter tests and golden files: an
// inference host with a downtrained GPU and an NVMe disk, a CPython server pausing for GC and
// copying to the GPU, a Go sidecar, two short-lived helpers beyond the top-N (folded), and a
// process whose comm holds every character the formats must escape.
#pragma once

#include "userspace/model/host_snapshot.h"
#include "exporters/telemetry/finding_spans.h"
#include "exporters/telemetry/metric_model.h"
#include "exporters/telemetry/telemetry_sink.h"

#include <vector>

namespace gputrace::test {

// CLOCK_MONOTONIC 1000 s  <->  2026-01-01T00:00:00Z
inline constexpr uint64_t kMonoBase = 1'000'000'000'000;
inline constexpr uint64_t kUnixBase = 1'767'225'600'000'000'000;

inline HostSnapshot telemetry_snapshot() {
  HostSnapshot s;
  s.first_ns = kMonoBase;
  s.taken_ns = kMonoBase + 60'000'000'000;
  s.source.hostname = "infer-07";
  s.source.kernel = "6.12.48+deb13-cloud-amd64";
  s.version = "0.1.0";
  s.records.processed = 12345;
  s.records.by_source = {{"dma", 9000}, {"gc", 345}, {"gpu", 2000}, {"proc", 1000}};

  DeviceRow nvme{.name = "0000:01:00.0", .driver = "nvme", .vendor = 0x144d, .device = 0xa808, .pci_class = 0x010802,
                 .gpu = false, .iommu_mode = "lazy", .iommu_group = 3};
  nvme.dma_maps = 6000;
  nvme.dma_unmaps = 5990;
  nvme.dma_map_bytes = 6000ull * 8192;
  nvme.dma_unmap_bytes = 5990ull * 8192;
  nvme.dma_outstanding = 10;
  nvme.dma_outstanding_bytes = 81920;
  nvme.iommu_map_latency.count = 6000;
  nvme.iommu_map_latency.total_ns = 5000ull * 1500 + 990ull * 4000 + 10ull * 300'000;
  for (int i = 0; i < 5000; ++i) nvme.iommu_map_latency_histogram.add(1500);
  for (int i = 0; i < 990; ++i) nvme.iommu_map_latency_histogram.add(4000);
  for (int i = 0; i < 10; ++i) nvme.iommu_map_latency_histogram.add(300'000);
  DeviceRow gpu{.name = "0000:41:00.0", .driver = "nvidia", .vendor = 0x10de, .device = 0x2330, .pci_class = 0x030200,
                .gpu = true, .iommu_mode = "strict", .iommu_group = 12, .link_speed_mts = 16000, .link_width = 8,
                .max_link_speed_mts = 32000, .max_link_width = 16, .link_downtrained = true};
  gpu.dma_maps = 3000;
  gpu.dma_unmaps = 2998;
  gpu.dma_map_bytes = 3000ull * 65536;
  gpu.dma_unmap_bytes = 2998ull * 65536;
  gpu.dma_outstanding = 2;
  gpu.dma_outstanding_bytes = 131072;
  gpu.dma_leaks = 2;
  gpu.iommu_faults = 3;
  gpu.aer_corrected = 4;
  gpu.iommu_unmap_latency.count = 2998;
  gpu.iommu_unmap_latency.total_ns = 2998ull * 20'000;
  for (int i = 0; i < 2998; ++i) gpu.iommu_unmap_latency_histogram.add(20'000);  // strict mode: IOTLB flushes
  // a link trained to half its speed: 16 GT/s x8 carries about 13 GB/s; one stalled copy
  for (int i = 0; i < 7; ++i) gpu.copy_bandwidth_to_device.add(6.5e9);
  gpu.copy_bandwidth_to_device.add(1.2e9);
  s.devices = {nvme, gpu};

  ProcessRow server{.pid = 4242, .comm = "python3", .container = std::string(64, 'a'), .runtime = "cpython"};
  server.gc_pauses = 3;
  server.gc_pause_ns = 3'380'000;
  server.gc_pause_max_ns = 3'000'000;
  server.gc_pause_p99_ns = 3'000'000;
  server.gc_wall_share = 3'380'000.0 / 60e9;
  server.gc_full_collections = 1;
  server.gc_histogram = {.cumulative = {0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3}, .count = 3, .sum_ns = 3'380'000};
  server.dma_maps = 3000;
  server.dma_map_bytes = 3000ull * 65536;
  server.dma_outstanding = 2;
  server.dma_outstanding_bytes = 131072;
  server.dma_leaks = 2;
  server.gpu_kernels = 500;
  server.gpu_kernel_ns = 2'500'000'000;
  server.memcpys = 40;
  server.memcpy_bytes = 40ull << 20;
  server.memcpy_ns = 80'000'000;
  server.findings = 3;
  server.iommu_faults = 1;
  ProcessRow sidecar{.pid = 5000, .comm = "envoy-go", .runtime = "go"};
  sidecar.gc_pauses = 10;
  sidecar.gc_pause_ns = 1'000'000;
  sidecar.gc_pause_max_ns = 200'000;
  sidecar.gc_wall_share = 1e6 / 60e9;
  sidecar.gc_histogram = {.cumulative = {2, 5, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10}, .count = 10, .sum_ns = 1'000'000};
  // comm bytes a kernel allows: a quote, a backslash, a newline, an invalid UTF-8 byte
  ProcessRow odd{.pid = 6001, .comm = std::string("we\"ird\\na\nme\xff"), .exited = true};
  odd.dma_maps = 4;
  odd.dma_map_bytes = 16384;
  ProcessRow helper{.pid = 6002, .comm = "nvme_submit", .exited = true};
  helper.dma_maps = 3;
  helper.dma_map_bytes = 12288;
  helper.dma_outstanding = 1;
  helper.dma_outstanding_bytes = 4096;
  s.processes = {server, sidecar, odd, helper};

  Finding leak{.kind = FindingKind::dma_leak_owner_exit, .severity = Severity::Warning, .start_ns = kMonoBase + 10'000'000'000,
               .end_ns = kMonoBase + 12'000'000'000, .pid = 4242, .comm = "python3", .device = "0000:41:00.0",
               .message = "python3[4242] exited with page mapping 0xffe20000 (65536 bytes, to_device) still mapped"};
  leak.evidence = {{"bus_address", "0xffe20000"}, {"size", 65536}, {"direction", "to_device"},
                   {"owner", {{"pid", 4242}, {"comm", "python3"}, {"kind", "process"}}},
                   {"stack", {"dma_map_page_attrs+0x10", "uvm_map_buffer+0x11"}}};
  Finding fault{.kind = FindingKind::iommu_fault, .severity = Severity::Critical, .start_ns = kMonoBase + 20'000'000'000,
                .end_ns = kMonoBase + 20'000'000'000, .pid = 4242, .comm = "python3", .device = "0000:41:00.0",
                .message = "0000:41:00.0: IOMMU fault on read of IOVA 0x200000 (reason 6)"};
  fault.evidence = {{"iova", "0x200000"}, {"reason", 6}, {"count", 1}, {"address", 0xffff888100a00000ull}, {"ratio", 0.25}};
  Finding growth{.kind = FindingKind::dma_mapping_growth, .severity = Severity::Info, .pid = 0, .device = "0000:01:00.0",
                 .message = "0000:01:00.0: outstanding mappings grew by 10 in 60 s"};
  s.findings = {leak, fault, growth};
  s.findings_by_kind = {{"dma_mapping_growth", 1}, {"dma_leak_owner_exit", 1}, {"iommu_fault", 1}};
  s.losses = {{"decode_errors", 0, "input"}, {"late_records", 0, "engine"}, {"ring_full_bulk", 7, "bpf"},
              {"spans_not_kept", 0, "daemon"}};
  return s;
}

inline std::vector<TimelineSpan> telemetry_spans(const HostSnapshot& s) {
  TimelineSpan pause{.name = "gc.pause", .start_ns = kMonoBase + 5'000'000'000, .end_ns = kMonoBase + 5'003'000'000, .pid = 4242};
  pause.attributes = {{"runtime", "cpython"}, {"cause", "collection"}, {"duration_ns", 3'000'000}, {"tid", 4243},
                      {"generation", 2}, {"collected", 1200}};
  TimelineSpan copy{.name = "gpu.memcpy", .start_ns = kMonoBase + 6'000'000'000, .end_ns = kMonoBase + 6'002'000'000, .pid = 4242};
  copy.attributes = {{"copy_kind", "htod"}, {"bytes", 1 << 20}, {"src_memory", "pageable"}, {"dst_memory", "device"},
                     {"async", false}, {"gpu_device_id", 0}, {"stream_id", 7}, {"correlation_id", 99},
                     {"bytes_per_second", 524288000.0}};
  std::vector<TimelineSpan> spans{pause, copy};
  for (TimelineSpan& f : telemetry::finding_spans(s.findings, 100).spans) spans.push_back(std::move(f));
  return spans;
}

// The model both exporters render, with the `top` busiest processes named.
inline telemetry::MetricModel telemetry_model(const HostSnapshot& s, size_t top = 2) {
  telemetry::ProcessSelection selection(top);
  selection.update(s);
  return telemetry::build_metric_model(s, selection);
}

// A live daemon's batch, made one second after the snapshot's newest record.
inline telemetry::TelemetryBatch telemetry_batch(const HostSnapshot& s, const telemetry::MetricModel& m,
                                                 const std::vector<TimelineSpan>& spans) {
  return {.snapshot = &s,
          .metrics = &m,
          .new_spans = spans,
          .new_findings = s.findings,
          .clock = {kMonoBase, kUnixBase},
          .start_unix_ns = kUnixBase,
          .now_unix_ns = kUnixBase + 61'000'000'000};
}

}  // namespace gputrace::test
