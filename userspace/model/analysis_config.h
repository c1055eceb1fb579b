// The settings an analysis runs with: the engine's windows and bounds, the leak rules' grace,
// the growth detector's and the correlation's thresholds. Plain data: the report carries
// them (what a finding was judged against). Every default is explained in docs/findings.md;
// `--threshold NAME=VALUE` changes them (cli/analysis_options.h).
#pragma once

#include <cstddef>
#include <cstdint>

namespace gputrace {

struct CorrelationConfig {
  // GPU activity is judged once the kernel events of its whole duration are in; kernel
  // facts are kept this long behind the newest kernel event for that.
  uint64_t history_span_ns = 30'000'000'000;
  size_t max_history_entries = size_t{1} << 22;
  // GPU activities waiting for the kernel stream (and for open GC pauses of their process);
  // over this, the oldest is judged early and counted (correlation_pending_dropped).
  size_t max_pending_activities = size_t{1} << 20;

  // pcie_stall: a host<->device copy of at least min_judged_bytes whose bandwidth is below
  // stall_fraction of what its PCIe link allows at full speed and width, and below
  // stall_fraction of the baseline learned for its device, direction, size class and
  // memory kind (when that baseline is trustworthy: baseline_min_samples copies, itself not
  // already below stall_fraction of the link).
  double stall_fraction = 0.5;
  uint64_t min_judged_bytes = 4ull << 20;
  uint32_t baseline_min_samples = 8;
  uint64_t stall_merge_gap_ns = 1'000'000'000;  // stalled copies closer than this are one finding

  // Causes, checked over the copy's time range:
  double storm_unmaps_per_s = 2000;     // DMA-API unmaps on strict-mode devices, per second
  uint64_t storm_min_unmaps = 16;       // and at least this many
  double gc_overlap_fraction = 0.1;     // a GC pause of the issuing process covers this much of the copy

  // gpu_idle_gc: a gap between GPU activities on a device, overlapped by a GC pause of the
  // process that launches next by at least idle_min_ns, where the launch follows the end of
  // the pause within idle_resume_slack_ns: the process resumed and launched at once, so the
  // pause held the launch back (a GPU idle for want of work is not the collector's doing).
  uint64_t idle_min_ns = 500'000;
  uint64_t idle_resume_slack_ns = 2'000'000;
  uint64_t idle_merge_gap_ns = 1'000'000'000;
};

// dma_mapping_growth: outstanding mappings sampled every sample_period_ns; growth over
// window_ns of at least min_mappings and min_bytes is a finding.
struct GrowthConfig {
  uint64_t sample_period_ns = 1'000'000'000;
  uint64_t window_ns = 30'000'000'000;
  uint64_t min_mappings = 256;
  uint64_t min_bytes = uint64_t{16} << 20;
};

// GC findings (docs/findings.md), with the thresholds users alert on as defaults.
struct GcFindingConfig {
  uint64_t pause_long_ns = 200'000'000;       // gc_pause_long: one pause longer than this
  double share_fraction = 0.15;               // gc_share_high: pauses above this share of wall time
  uint64_t share_window_ns = 60'000'000'000;  //   over this sliding window
  uint32_t full_count = 3;                    // gc_full_repeated: at least this many full collections
  uint64_t full_window_ns = 60'000'000'000;   //   within this window
};

struct EngineConfig {
  uint64_t reorder_window_ns = 50'000'000;
  // GPU records come in CUPTI batches, up to a flush period (100 ms by default) after the
  // activity and more under load; they get their own, longer window.
  uint64_t gpu_reorder_window_ns = 1'000'000'000;
  CorrelationConfig correlation;
  GcFindingConfig gc;
  uint64_t owner_exit_grace_ns = 2'000'000'000;
  GrowthConfig growth;
  size_t max_exited_processes = 1 << 16;   // exited processes kept for naming (owners always kept)
  size_t max_stacks = 1 << 16;
  size_t unmap_history = size_t{1} << 18;  // recently unmapped addresses, for double-unmap checks
  size_t max_kept_health_events = 1 << 20; // faults/AER/bounces/latencies kept for correlation
  // GPU records waiting for the kernel stream to pass them; over this (a capture with no
  // kernel records, a stalled kernel stream), the oldest go on early and are counted.
  size_t max_held_gpu_records = size_t{1} << 20;
  // Kernel records waiting in the reorder window; over this (a capture of millions of records
  // with one timestamp, a clock that stands still), the oldest go on early and are counted,
  // so memory stays bounded whatever a capture holds.
  size_t max_held_kernel_records = size_t{1} << 20;
};

}  // namespace gputrace
