// HostSnapshot: the state of the traced host at one moment, as plain data. It is the one
// narrow interface between the analysis (engine, GC pause stats, correlation) and what
// shows or ships that state: `gputrace top`, the Prometheus and OTLP exporters. Nothing in
// it knows of BPF, CUPTI or the wire format.
//
// Every count is a running total since tracing began (a counter, in Prometheus terms);
// a rate is the difference between two snapshots over their taken_ns. Gauges say so.
//
//   ProcessIdentities identities;  // kept across snapshots
//   SnapshotInputs in{.engine = &engine, .pauses = &pauses, .host = &host, .identities = &identities};
//   HostSnapshot now = take_snapshot(in);
#pragma once

#include "analyze/finding.h"
#include "analyze/histogram_bounds.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace gputrace {

class Engine;
struct CaptureHostInfo;
namespace gc {
class PauseStats;
}

// Upper bounds (ns) of the pause histogram buckets; the +Inf bucket is the total count.
// Chosen around what inference serving feels: 50 us is noise, 100 ms is a missed SLO.
// 200 ms is where the fleet's alert starts (deploy/prometheus/gputrace-rules.yaml).
inline constexpr std::array<uint64_t, 14> kPauseBucketBoundsNs = {
    50'000,     100'000,     250'000,     500'000,     1'000'000,   2'500'000,   5'000'000,
    10'000'000, 25'000'000,  50'000'000,  100'000'000, 200'000'000, 500'000'000, 1'000'000'000};

struct PauseHistogram {
  // cumulative[i] = pauses <= kPauseBucketBoundsNs[i] (bucket resolution: 1/32 relative)
  std::array<uint64_t, kPauseBucketBoundsNs.size()> cumulative{};
  uint64_t count = 0;
  uint64_t sum_ns = 0;
};

struct ProcessRow {
  uint32_t pid = 0;
  std::string comm;
  std::string container;  // container id (docker/containerd/podman), empty on the host
  std::string runtime;    // "cpython", "hotspot", "go", or empty
  bool exited = false;

  // GC pauses of the collector (not Go's other stop-the-worlds)
  uint64_t gc_pauses = 0;
  uint64_t gc_pause_ns = 0;
  uint64_t gc_pause_max_ns = 0;
  uint64_t gc_pause_p99_ns = 0;
  uint64_t gc_full_collections = 0;  // HotSpot full, CPython generation 2 (gc/pause_stats.h)
  double gc_wall_share = 0;  // gauge: pause time / observed window
  PauseHistogram gc_histogram;

  // DMA mappings made in this process's context (owner "process")
  uint64_t dma_maps = 0;
  uint64_t dma_map_bytes = 0;
  uint64_t dma_outstanding = 0;        // gauge
  uint64_t dma_outstanding_bytes = 0;  // gauge
  // Mappings reported leaked: its own, and those of a driver it probed (owner "driver":
  // insmod's or modprobe's pid), which the findings name it for.
  uint64_t dma_leaks = 0;

  // GPU activity it launched (CUPTI), and what the correlation concluded
  uint64_t gpu_kernels = 0;
  uint64_t gpu_kernel_ns = 0;
  uint64_t memcpys = 0;
  uint64_t memcpy_bytes = 0;
  uint64_t memcpy_ns = 0;              // time copies were in flight: bytes / ns = bandwidth
  uint64_t memsets = 0;
  uint64_t stalls = 0;                 // pcie_stall findings
  uint64_t gpu_idle_gc_ns = 0;         // GPU idle time attributed to this process's GC

  uint64_t findings = 0;               // all findings naming this pid
  uint64_t iommu_faults = 0;           // iommu_fault findings naming this pid
};

struct DeviceRow {
  std::string name;     // PCI address or dev_name()
  std::string driver;
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t pci_class = 0;
  bool gpu = false;     // display or 3D controller class
  std::string iommu_mode;  // "strict", "lazy", "identity", "off", "unknown"
  int32_t iommu_group = -1;
  // PCIe link (gauges; 0 when unknown): speed in MT/s, width in lanes
  uint32_t link_speed_mts = 0;
  uint32_t link_width = 0;
  uint32_t max_link_speed_mts = 0;
  uint32_t max_link_width = 0;
  bool link_downtrained() const {
    return link_speed_mts && max_link_speed_mts &&
           (link_speed_mts < max_link_speed_mts || link_width < max_link_width);
  }

  uint64_t dma_maps = 0;
  uint64_t dma_unmaps = 0;
  uint64_t dma_map_bytes = 0;
  uint64_t dma_unmap_bytes = 0;
  uint64_t dma_outstanding = 0;        // gauge
  uint64_t dma_outstanding_bytes = 0;  // gauge
  uint64_t dma_leaks = 0;              // leaked at unbind + after owner exit

  uint64_t iommu_faults = 0;
  uint64_t swiotlb_bounces = 0;
  uint64_t swiotlb_bytes = 0;
  uint64_t aer_corrected = 0;
  uint64_t aer_nonfatal = 0;
  uint64_t aer_fatal = 0;
  uint64_t iommu_map_latency_count = 0;
  uint64_t iommu_map_latency_ns = 0;
  uint64_t iommu_unmap_latency_count = 0;
  uint64_t iommu_unmap_latency_ns = 0;
  IommuLatencyHistogram iommu_map_latency_histogram;
  IommuLatencyHistogram iommu_unmap_latency_histogram;
  // achieved bandwidth of host<->device copies large enough to judge (pcie_stall's minimum)
  CopyBandwidthHistogram copy_bandwidth_to_device;
  CopyBandwidthHistogram copy_bandwidth_from_device;
};

struct HostSnapshot {
  uint64_t taken_ns = 0;         // event clock (CLOCK_MONOTONIC) of the newest processed record
  uint64_t first_ns = 0;         // of the oldest processed record; 0 when none
  std::string hostname;
  std::string kernel;
  std::string version;           // gputrace's

  uint64_t records = 0;          // processed by the engine
  std::map<std::string, uint64_t> records_by_source;  // "dma", "iommu", "pcie", "proc", "gc", "gpu", "host"

  std::vector<DeviceRow> devices;      // traced devices, by name
  std::vector<ProcessRow> processes;   // processes with any activity, by pid
  // The newest SnapshotInputs::max_findings (all when 0), in the order they were concluded;
  // the counts are over every finding.
  std::vector<Finding> findings;
  uint64_t findings_total = 0;
  std::map<std::string, uint64_t> findings_by_kind;
  std::map<std::string, uint64_t> findings_by_severity;  // "critical", "warning", "info"
  // Every loss counter (ring, stack, recursion, decode, late records, GPU batches, ...),
  // zero or not: a user must be able to tell "nothing lost" from "not measured".
  std::map<std::string, uint64_t> losses;
};

// What earlier snapshots learned of a process that the host stops telling once it exits:
// its container id (/proc/PID/cgroup goes with the process) and runtime. With it a
// process keeps the same identity, and so the same exporter series, for its whole life.
// take_snapshot keeps the processes of its snapshot only, so it stays as small as that.
struct ProcessIdentities {
  struct Known {
    uint64_t start_ns = 0;  // the process's (ProcessTable key): a reused pid is someone else
    std::string container;
    std::string runtime;
  };
  std::map<uint32_t, Known> by_pid;
};

struct SnapshotInputs {
  const Engine* engine = nullptr;             // required
  const gc::PauseStats* pauses = nullptr;     // optional: no GC columns without it
  const CaptureHostInfo* host = nullptr;      // optional: hostname, kernel
  std::map<std::string, uint64_t> extra_losses;  // the caller's own counters (decode errors ...)
  // Live runs resolve container ids from /proc; replays leave this empty.
  std::function<std::string(uint32_t pid)> container_of;
  // Optional, owned by the caller across snapshots: keeps container ids after exit.
  ProcessIdentities* identities = nullptr;
  // Findings copied into the snapshot: the newest max_findings, 0 for all (the daemon finds
  // new ones by their index). Counts stay exact either way.
  size_t max_findings = 0;
};

HostSnapshot take_snapshot(const SnapshotInputs& in);

}  // namespace gputrace
