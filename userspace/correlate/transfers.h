// TransferAnalyzer: judges each host<->device copy against what its PCIe link allows and
// against a baseline learned from earlier copies, and names the cause of a stall from the
// kernel events that overlap it (docs/findings.md, pcie_stall).
//
// Copies are judged by what their link carried while they ran (LinkLoad: every copy of the
// same device and direction, prorated by overlap), so copies sharing a link are not stalls.
// They arrive in start order, each once the kernel history and every overlapping copy are
// in. Stalled copies of one process, device, direction and cause that follow each other
// within stall_merge_gap_ns are one finding; a finding is emitted when no later copy can
// join it.
#pragma once

#include "userspace/analyze/device_health.h"
#include "userspace/model/finding.h"
#include "userspace/model/histogram_bounds.h"
#include "userspace/model/analysis_config.h"
#include "userspace/correlate/gpu_activity.h"
#include "userspace/correlate/gpu_devices.h"
#include "userspace/correlate/gpu_stats.h"
#include "userspace/correlate/kernel_history.h"
#include "userspace/correlate/link_load.h"
#include "userspace/tables/device_table.h"
#include "userspace/tables/process_table.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace gputrace {

// Bytes per second a PCIe link carries at speed_mts (MT/s per lane) over width lanes, after
// the line encoding (8b/10b up to 5 GT/s, 128b/130b up to 32 GT/s, FLIT beyond).
double pcie_bytes_per_s(uint32_t speed_mts, uint32_t width);

// Achieved bandwidth of copies of one kind on one device: what "normal" looks like there.
struct TransferBaseline {
  uint32_t device = 0;
  bool to_device = true;
  uint8_t size_class = 0;  // 0: [4, 16) MiB, 1: [16, 64) MiB, 2: >= 64 MiB (with the default minimum)
  bool pageable = false;
  uint64_t samples = 0;
  double median_bytes_per_s = 0;
};

struct TransferStats {
  uint64_t copies = 0;             // every memcpy seen
  uint64_t judged = 0;             // host<->device copies large enough to judge
  uint64_t stalled = 0;
  uint64_t unbound_device = 0;     // judged without knowing the PCI device (no link, no causes)
  uint64_t shared_link = 0;        // judged while other copies shared their link
};

class TransferAnalyzer {
 public:
  TransferAnalyzer(const CorrelationConfig& config, const DeviceTable& devices, const DeviceHealth& health,
                   const KernelHistory& history, const ProcessTable& processes, FindingSink& findings)
      : config_(config), devices_(devices), health_(health), history_(history), processes_(processes),
        findings_(findings) {}

  // Every copy, as soon as the correlator receives it: its share of the link.
  void on_copy_in_flight(const GpuActivity& copy, const GpuBinding& binding);
  // The same copy, once everything that overlapped it is known: judged.
  void on_memcpy(const GpuActivity& copy, const GpuBinding& binding, GpuProcessStats& stats);
  // Emits the stall findings no copy starting at or after ts can extend.
  void close_before(uint64_t ts);
  void finish() { close_before(UINT64_MAX); }

  const TransferStats& stats() const { return stats_; }
  uint64_t link_load_dropped() const { return link_load_.dropped(); }
  // Achieved bandwidth of the judged copies (host<->device, at least min_judged_bytes) bound to
  // a device, by direction; nullptr before the first one.
  const CopyBandwidthHistogram* bandwidth(uint32_t device, bool to_device) const {
    const auto it = bandwidth_.find({device, to_device});
    return it == bandwidth_.end() ? nullptr : &it->second;
  }
  std::vector<TransferBaseline> baselines() const;

 private:
  struct Cause {
    std::string name;
    std::string why;  // one phrase with numbers, for the message
    nlohmann::ordered_json evidence;
  };
  struct Judgement {
    double bytes_per_s = 0;           // the copy's own
    double carried_bytes_per_s = 0;   // the link's, in this direction, while the copy ran
    uint32_t other_copies = 0;        // overlapping copies that shared the link
    double link_max_bytes_per_s = 0;  // 0 when the link is unknown
    double link_now_bytes_per_s = 0;
    double baseline_bytes_per_s = 0;  // 0 when not trustworthy
    bool stalled = false;
  };
  struct Samples {
    std::array<double, 64> ring{};
    uint64_t count = 0;
    double median() const;
  };
  using BaselineKey = std::tuple<uint32_t, bool, uint8_t, bool>;  // device, to_device, size class, pageable
  using GroupKey = std::tuple<uint32_t, uint32_t, bool, std::string>;  // pid, device, to_device, cause
  struct StallGroup {
    uint64_t first_start = 0;
    uint64_t last_end = 0;
    uint64_t copies = 0;
    uint64_t bytes = 0;
    uint64_t busy_ns = 0;
    double slowest_bytes_per_s = 0;
    Judgement slowest;
    Cause cause;  // of the slowest copy
    std::vector<std::string> other_causes;
    bool device_assumed = false;
    bool pageable = false;
  };

  static LinkLoad::Link link_of(const GpuActivity& copy, const GpuBinding& binding);
  Judgement judge(const GpuActivity& copy, const GpuBinding& binding, const BaselineKey& key) const;
  std::vector<Cause> causes_of(const GpuActivity& copy, std::optional<uint32_t> device, const Judgement& j) const;
  std::optional<Cause> unmap_storm(const GpuActivity& copy, std::optional<uint32_t> device) const;
  void add_to_group(const GpuActivity& copy, uint32_t device, bool assumed, const Judgement& j,
                    std::vector<Cause> causes);
  void emit(const GroupKey& key, const StallGroup& g);

  const CorrelationConfig& config_;
  const DeviceTable& devices_;
  const DeviceHealth& health_;
  const KernelHistory& history_;
  const ProcessTable& processes_;
  FindingSink& findings_;
  TransferStats stats_;
  LinkLoad link_load_;
  std::map<BaselineKey, Samples> baselines_;
  std::map<GroupKey, StallGroup> open_;
  std::map<std::pair<uint32_t, bool>, CopyBandwidthHistogram> bandwidth_;  // device, to_device
};

}  // namespace gputrace
