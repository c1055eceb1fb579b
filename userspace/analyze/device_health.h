// DeviceHealth: per-device counts of IOMMU faults, AER errors, swiotlb bounces and IOMMU
// map/unmap latency, a bounded time-ordered list of the rare ones (faults, AER errors) for
// the analyzers that correlate stalls with them, and the iommu_fault finding (identical
// repeats of one fault within a second are one finding with a count). The frequent ones
// (bounces, latencies) reach the correlation as KernelHistory buckets.
#pragma once

#include "userspace/model/finding.h"
#include "userspace/model/histogram_bounds.h"
#include "userspace/tables/device_table.h"

extern "C" {
#include "bpf/iommu.h"
#include "bpf/pcie.h"
}

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace gputrace {

struct LatencyStats {
  uint64_t count = 0;
  uint64_t total_ns = 0;
  uint64_t max_ns = 0;
  IommuLatencyHistogram histogram;  // exported as a histogram (docs/metrics.md)
};

struct DeviceHealthCounts {
  uint64_t iommu_faults = 0;
  uint64_t swiotlb_bounces = 0;
  uint64_t swiotlb_bytes = 0;
  uint64_t aer_corrected = 0;
  uint64_t aer_nonfatal = 0;
  uint64_t aer_fatal = 0;
  LatencyStats iommu_map_latency;
  LatencyStats iommu_unmap_latency;
};

enum class HealthEventKind : uint8_t { IommuFault, Aer };

// One kept event: value is the fault reason or the AER status.
struct HealthEvent {
  uint64_t ts = 0;
  uint64_t addr = 0;  // IOVA, 0 for AER
  uint64_t value = 0;
  uint32_t device = 0;
  HealthEventKind kind = HealthEventKind::IommuFault;
};

class DeviceHealth {
 public:
  DeviceHealth(size_t max_kept_events, DeviceTable& devices, FindingSink& findings)
      : max_kept_(max_kept_events), devices_(devices), findings_(findings) {}

  void on_fault(const gt_iommu_fault_event& e);
  void on_aer(const gt_aer_event& e);
  // Both return the DeviceTable index they counted under, for the caller's own bookkeeping.
  uint32_t on_swiotlb(const gt_swiotlb_event& e);
  uint32_t on_latency(const gt_iommu_latency_event& e);

  // Emits fault findings whose one-second aggregation window closed before now_ns.
  void run_due(uint64_t now_ns);
  uint64_t next_due_ns() const;
  void finish() { run_due(UINT64_MAX); }

  DeviceHealthCounts counts(uint32_t device) const {
    return device < counts_.size() ? counts_[device] : DeviceHealthCounts{};
  }
  // Kept events in time order, oldest first; the correlator forgets what it no longer needs.
  const std::deque<HealthEvent>& kept_events() const { return kept_; }
  void forget_before(uint64_t ts) {
    while (!kept_.empty() && kept_.front().ts < ts) kept_.pop_front();
  }
  uint64_t events_not_kept() const { return not_kept_; }  // faults and AER errors over the bound

 private:
  struct OpenFault {
    uint32_t device;
    uint64_t iova;
    uint32_t flags;
    uint32_t reason;
    uint8_t source;
    uint64_t first_ns;
    uint64_t last_ns;
    uint64_t count;
  };

  DeviceHealthCounts& counts_for(uint32_t device);
  void keep(HealthEventKind kind, uint64_t ts, uint32_t device, uint64_t addr, uint64_t value);
  void emit(const OpenFault& fault);

  size_t max_kept_;
  DeviceTable& devices_;
  FindingSink& findings_;
  std::vector<DeviceHealthCounts> counts_;
  std::deque<HealthEvent> kept_;
  uint64_t not_kept_ = 0;
  std::vector<OpenFault> open_faults_;  // by first_ns
};

}  // namespace gputrace
