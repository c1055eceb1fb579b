// GpuIdleAnalyzer: time a GPU sat idle because the process feeding it was stopped by its
// garbage collector (docs/findings.md, gpu_idle_gc).
//
// Activities (kernels, copies, memsets) of every process arrive in start order per device.
// A gap between the end of all earlier work on a device and the start of the next activity
// is idle time; the part of it a GC pause of the process that launched that next activity
// overlaps is attributed to the pause, if the launch came right after the pause ended. Pauses of one process on one device that follow each
// other within idle_merge_gap_ns are one finding.
#pragma once

#include "userspace/model/finding.h"
#include "userspace/model/analysis_config.h"
#include "userspace/correlate/gpu_activity.h"
#include "userspace/correlate/gpu_devices.h"
#include "userspace/correlate/gpu_stats.h"
#include "userspace/correlate/kernel_history.h"
#include "userspace/tables/device_table.h"
#include "userspace/tables/process_table.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>

namespace gputrace {

class GpuIdleAnalyzer {
 public:
  GpuIdleAnalyzer(const CorrelationConfig& config, const DeviceTable& devices, const KernelHistory& history,
                  const ProcessTable& processes, FindingSink& findings)
      : config_(config), devices_(devices), history_(history), processes_(processes), findings_(findings) {}

  void on_activity(const GpuActivity& a, const GpuBinding& binding, GpuProcessStats& stats);
  void close_before(uint64_t ts);
  void finish() { close_before(UINT64_MAX); }

  uint64_t idle_gc_ns() const { return idle_gc_ns_; }

 private:
  // A device: its PCI index when bound, else the CUDA id of an unbound process's device.
  using DeviceKey = std::pair<bool, uint32_t>;  // (bound, index or CUDA id)
  struct Group {
    std::string device;
    uint64_t first_ns = 0;
    uint64_t last_ns = 0;
    uint64_t pauses = 0;
    uint64_t idle_ns = 0;
    uint64_t longest_ns = 0;
    nlohmann::ordered_json examples = nlohmann::ordered_json::array();
  };

  void emit(uint32_t pid, const Group& g);

  const CorrelationConfig& config_;
  const DeviceTable& devices_;
  const KernelHistory& history_;
  const ProcessTable& processes_;
  FindingSink& findings_;
  std::map<DeviceKey, uint64_t> busy_until_;
  std::map<std::pair<uint32_t, DeviceKey>, Group> open_;  // (pid, device)
  uint64_t idle_gc_ns_ = 0;
};

}  // namespace gputrace
