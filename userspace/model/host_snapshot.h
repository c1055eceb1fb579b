// HostSnapshot: the one read model. The state of the traced host, or of a whole capture, as
// plain data: what every view and exporter renders (`gputrace top`, the report as text, JSON,
// Markdown and HTML, Perfetto, Prometheus, OTLP). Judgements (a downtrained link, a loss
// that is only lateness) are made once, by the analysis that builds it
// (userspace/snapshot/snapshot_builder.h), and carried here. Nothing in it knows of BPF,
// CUPTI, the engine or the wire format.
//
// Every count is a running total since tracing began (a counter, in Prometheus terms);
// a rate is the difference between two snapshots over their taken_ns. Gauges say so.
#pragma once

#include "userspace/model/analysis_config.h"
#include "userspace/model/finding.h"
#include "userspace/model/histogram_bounds.h"
#include "userspace/model/loss_counters.h"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gputrace {

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

struct DmaApiTotals {
  uint64_t maps = 0;
  uint64_t unmaps = 0;
  uint64_t map_bytes = 0;
  uint64_t unmap_bytes = 0;
};

struct LatencyTotals {
  uint64_t count = 0;
  uint64_t total_ns = 0;
  uint64_t max_ns = 0;
};

struct DeviceRow {
  uint32_t index = 0;   // the order gputrace first saw the device (the report lists them so)
  std::string name;     // PCI address or dev_name()
  std::string driver;
  std::string bus;      // "pci", "platform", ...
  bool traced = false;  // kept by the device filter
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
  // Known when the device reports its maximum (max_link_speed_mts != 0); then downtrained
  // says whether it runs below its maximum speed or width.
  bool link_known() const { return max_link_speed_mts != 0; }
  bool link_downtrained = false;

  uint64_t dma_maps = 0;               // over the three DMA APIs
  uint64_t dma_unmaps = 0;
  uint64_t dma_map_bytes = 0;
  uint64_t dma_unmap_bytes = 0;
  DmaApiTotals dma_page, dma_sg, dma_coherent;  // by API
  uint64_t dma_outstanding = 0;        // gauge
  uint64_t dma_outstanding_bytes = 0;  // gauge
  uint64_t dma_leaks = 0;              // leaked at unbind + after owner exit
  uint64_t leaked_at_unbind = 0;
  uint64_t leaked_after_owner_exit = 0;
  uint64_t unmaps_of_pre_trace_mappings = 0;
  uint64_t unmatched_unmaps = 0;
  uint64_t duplicate_maps = 0;
  uint64_t unbinds = 0;
  uint64_t iommu_maps = 0;             // IOMMU page-table maps attributed to the device
  uint64_t iommu_unmaps = 0;

  uint64_t iommu_faults = 0;
  uint64_t swiotlb_bounces = 0;
  uint64_t swiotlb_bytes = 0;
  uint64_t aer_corrected = 0;
  uint64_t aer_nonfatal = 0;
  uint64_t aer_fatal = 0;
  LatencyTotals iommu_map_latency;
  LatencyTotals iommu_unmap_latency;
  IommuLatencyHistogram iommu_map_latency_histogram;
  IommuLatencyHistogram iommu_unmap_latency_histogram;
  // achieved bandwidth of host<->device copies large enough to judge (pcie_stall's minimum)
  CopyBandwidthHistogram copy_bandwidth_to_device;
  CopyBandwidthHistogram copy_bandwidth_from_device;
};

// The owner of DMA mappings: a process (in whose context they were made), a driver (its
// probe: insmod's or modprobe's pid) or the kernel.
struct OwnerRow {
  uint32_t pid = 0;
  uint64_t start_ns = 0;
  std::string comm;
  std::string owner_kind;  // "process", "driver", "kernel"
  std::string exe;
  uint32_t ppid = 0;
  uint64_t cgroup_id = 0;
  std::optional<uint64_t> exit_ns;
  uint64_t mappings_made = 0;
  uint64_t bytes_mapped = 0;
  uint64_t outstanding = 0;
  uint64_t outstanding_bytes = 0;
  uint64_t leaks_reported = 0;
  uint64_t other_findings = 0;
};

// A process that exited with mappings outstanding less than the leak grace before the end.
struct PendingOwnerRow {
  uint32_t pid = 0;
  uint64_t start_ns = 0;
  std::string comm;
  uint64_t exit_ns = 0;
  uint64_t outstanding = 0;
};

struct IommuTotalsRow {
  uint64_t maps = 0, unmaps = 0, map_bytes = 0, unmap_bytes = 0;
  uint64_t unmatched_unmaps = 0, overlapping_maps = 0;
  uint64_t outstanding_ranges = 0, outstanding_bytes = 0;
};

// A process's GC pauses in full (the report's GC section).
struct GcPauseRow {
  int pid = 0;
  int ns_pid = 0;          // differs from pid for a process in another pid namespace
  std::string runtime;     // "cpython", "hotspot", "go", "none"
  uint64_t pauses = 0, total_ns = 0, max_ns = 0, p50_ns = 0, p90_ns = 0, p99_ns = 0;
  double wall_share = 0;
  uint64_t full_collections = 0;
  uint64_t go_cycles = 0;
  uint64_t non_gc_count = 0, non_gc_total_ns = 0, non_gc_max_ns = 0;
  std::map<std::string, uint64_t> non_gc_reasons;
};

// The injection library's own word on its state, in words.
// What an injection library's guards dropped, and the limits they enforced (its
// GT_EV_GPU_GUARDS record).
struct GpuGuardsRow {
  uint64_t process_rate_limited = 0, thread_rate_limited = 0, invalid_timestamp = 0, non_monotonic = 0;
  uint64_t buffers_refused = 0;
  uint32_t process_limit = 0, thread_limit = 0, device_buffers = 0, max_buffers = 0;
};

struct GpuLibraryRow {
  std::string state;  // "active", "other_subscriber", "cupti_failed", "exited", "detached", "unknown"
  int32_t cupti_result = 0;
  std::string holder;
  std::string clock;  // "monotonic", "calibrated", "raw", "unknown"
  uint64_t clock_error_ns = 0;
  uint64_t records = 0, dropped_cupti = 0, dropped_local = 0;
  uint64_t untimed = 0, truncated = 0, buffers_cut_short = 0, names_overflowed = 0;
  uint32_t headers_version = 0;
  bool layout_unverified = false;
  std::optional<GpuGuardsRow> guards;  // none before the library's first guards record
};

struct GpuProcessRow {
  uint32_t pid = 0;
  std::string comm;
  uint64_t kernels = 0, kernel_ns = 0, memcpys = 0, memcpy_bytes = 0, memcpy_ns = 0;
  double memcpy_gbps = 0;  // rounded to 0.01
  uint64_t memsets = 0, stalled_copies = 0, idle_gc_ns = 0, idle_gc_pauses = 0;
  uint64_t overhead_records = 0, overhead_ns = 0;  // CUPTI OVERHEAD records: the profiler's own cost
  uint64_t graph_launches = 0;                     // whole CUDA graph launches
  std::optional<GpuLibraryRow> library;
};

struct TransferBaselineRow {
  std::string device;
  std::string direction;    // "HtoD", "DtoH"
  std::string size_class;   // "4-16MiB", ...
  std::string host_memory;  // "pageable", "pinned"
  uint64_t samples = 0;
  double median_gbps = 0;   // rounded to 0.01
};

struct GpuSection {
  std::vector<GpuProcessRow> processes;  // by pid
  struct {
    uint64_t copies = 0, judged = 0, stalled = 0, unbound_device = 0, shared_link = 0;
  } transfers;
  std::vector<TransferBaselineRow> baselines;
  struct {
    uint64_t activities = 0, max_pending = 0, pending_dropped = 0, beyond_history = 0, open_pause_expired = 0;
    uint64_t idle_gc_ns = 0;
  } correlation;
};

// Where the data came from.
struct SnapshotSource {
  std::string path = "live";  // the capture's path, or "live"
  std::string hostname;
  std::string kernel;
  std::string boot_id;
  std::string version;        // of the gputrace that recorded it
  bool truncated = false;     // the capture was cut short
  std::string truncation_note;
};

struct RecordCounts {
  uint64_t processed = 0;
  uint64_t late = 0;       // kernel-side records processed after a newer one
  uint64_t late_gpu = 0;
  uint64_t max_held = 0;   // most records the reorder windows held at once
  std::vector<std::pair<std::string, uint64_t>> by_kind;  // kind name -> count, in kind order
  std::map<std::string, uint64_t> by_source;  // "dma", "iommu", "pcie", "proc", "gc", "gpu", "host"
};

// What gputrace gave up while its host was under pressure (load shedding); absent when the
// shedder never changed level.
struct SheddingRow {
  uint32_t level = 0;             // 0: nothing shed
  std::string reasons;            // "cpu,memory_psi", "none"
  std::vector<std::string> shed;  // what is shed now: "stacks", "gpu_api", "gc_markers"
  uint64_t since_ns = 0;          // when the current level began
  uint64_t changes = 0;
  uint64_t shed_ns = 0;           // time at a level above 0, in all
  std::optional<double> cpu_busy_pct, memory_psi, memory_available_pct;  // at the latest change
};

struct HostSnapshot {
  SnapshotSource source;
  std::string version;           // of this gputrace (the one rendering it)
  uint64_t taken_ns = 0;         // event clock (CLOCK_MONOTONIC) of the newest processed record
  uint64_t first_ns = 0;         // of the oldest processed record; 0 when none
  bool complete = false;         // the input ended (a finished replay or run), not a live moment
  EngineConfig config;           // what the analysis ran with

  RecordCounts records;
  std::vector<DeviceRow> devices;      // listed devices (traced, named by an event, GPUs with activity), by name
  IommuTotalsRow iommu;
  std::vector<ProcessRow> processes;   // processes with any activity, by pid
  std::vector<OwnerRow> owners;        // owners of DMA mappings, in the order they first mapped
  std::vector<PendingOwnerRow> owners_not_judged;
  std::optional<std::vector<GcPauseRow>> gc_pauses;  // by pid; absent when pauses were not analysed
  GpuSection gpu;
  std::optional<SheddingRow> shedding;
  // The newest SnapshotInputs::max_findings (all when 0), in the order they were concluded;
  // the counts are over every finding.
  std::vector<Finding> findings;
  uint64_t findings_total = 0;
  std::map<std::string, uint64_t> findings_by_kind;
  std::map<std::string, uint64_t> findings_by_severity;  // "critical", "warning", "info"
  // Every loss counter (ring, stack, recursion, decode, late records, GPU batches, ...),
  // zero or not: a user must be able to tell "nothing lost" from "not measured". In the
  // report's order: the tracer's (by name), the engine's and the libraries' (the loss
  // table's order), then the caller's (input, daemon, exporters; by name).
  std::vector<LossCounter> losses;
};

}  // namespace gputrace
