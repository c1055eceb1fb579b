// Correlator: puts GPU activity next to the kernel events and GC pauses of the same moment.
//
// The engine feeds it two streams, each in time order: kernel-side facts as kernel records
// are processed (into KernelHistory and DeviceHealth), and GPU records, which it releases
// up to a CUPTI flush period later. A GPU activity waits here until both streams have
// passed its end: then every kernel event that overlapped it is known, and so is every
// other copy sharing its PCIe link. A GC pause is recorded when it ends, so an activity of
// a process whose pause is still open (its begin seen, its end not yet) also waits, up to
// history_span_ns. Then the transfer and idle analyzers judge it. Kernel facts are
// forgotten history_span_ns behind the kernel stream; every list is bounded and what it
// drops is counted.
#pragma once

#include "userspace/analyze/device_health.h"
#include "userspace/model/finding.h"
#include "userspace/model/analysis_config.h"
#include "userspace/correlate/gpu_activity.h"
#include "userspace/correlate/gpu_devices.h"
#include "userspace/correlate/gpu_idle.h"
#include "userspace/correlate/gpu_stats.h"
#include "userspace/correlate/kernel_history.h"
#include "userspace/correlate/transfers.h"

#include <cstdint>
#include <deque>
#include <map>
#include <set>

namespace gputrace {

struct CorrelationStats {
  uint64_t activities = 0;        // GPU activities judged
  uint64_t max_pending = 0;       // most activities waiting for the kernel stream at once
  uint64_t pending_dropped = 0;   // over max_pending_activities: judged early, with partial history
  uint64_t beyond_history = 0;    // began before the oldest kept kernel fact: judged with partial history
  uint64_t open_pause_expired = 0;  // judged while a GC pause of their process had been open > history_span
};

class Correlator {
 public:
  Correlator(const CorrelationConfig& config, DeviceTable& devices, DeviceHealth& health,
             const ProcessTable& processes, FindingSink& findings);

  KernelHistory& history() { return history_; }
  const KernelHistory& history() const { return history_; }

  // GPU records, in GPU-time order: activity, device bindings, the library's status and losses.
  void on_gpu_activity(const GpuActivity& activity);
  void on_gpu_device(const gt_gpu_device_event& e) { binding_.on_device_record(e.hdr.pid, e); }
  void on_gpu_status(const gt_gpu_status_event& e);
  void on_gpu_lib_losses(const gt_gpu_lib_losses_event& e);
  void on_gpu_guards(const gt_gpu_guards_event& e);
  void on_gpu_overhead(const gt_gpu_overhead_event& e);
  void on_gpu_graph(const gt_gpu_graph_event& e);
  // Every kernel record up to ts has been processed.
  void on_kernel_clock(uint64_t ts);
  // Every GPU record that starts at or before ts has been handed over.
  void on_gpu_clock(uint64_t ts);
  void finish();

  const std::map<uint32_t, GpuProcessStats>& processes() const { return per_process_; }
  const TransferAnalyzer& transfers() const { return transfers_; }
  const GpuIdleAnalyzer& idle() const { return idle_; }
  const GpuDeviceBinding& binding() const { return binding_; }
  const CorrelationStats& stats() const { return stats_; }
  // The PCI devices GPU activity was bound to: GPUs worth listing even without kernel events.
  bool has_gpu_activity(uint32_t device) const { return active_devices_.contains(device); }

 private:
  void judge_ready();
  // The process's library status, created on its first status or loss record.
  GpuLibraryStatus& library_of(uint32_t pid);
  bool waits_for_open_pause(const GpuActivity& a);
  void judge(const GpuActivity& a);

  CorrelationConfig config_;
  DeviceHealth& health_;
  KernelHistory history_;
  GpuDeviceBinding binding_;
  TransferAnalyzer transfers_;
  GpuIdleAnalyzer idle_;
  std::deque<GpuActivity> pending_;  // in start order
  std::map<uint32_t, GpuProcessStats> per_process_;
  std::set<uint32_t> active_devices_;
  CorrelationStats stats_;
  uint64_t kernel_clock_ = 0;
  uint64_t gpu_clock_ = 0;
  uint64_t forgotten_before_ = 0;
};

}  // namespace gputrace
