// MappingTracker: every outstanding DMA-API mapping, per (device, bus address), with its
// owner and mapping-site stack; exact per-device totals; and the leak rules built on them:
// dma_leak_unbind, dma_leak_owner_exit and dma_unmap_unmatched (docs/findings.md).
#pragma once

#include "userspace/model/finding.h"
#include "userspace/analyze/open_hash_map.h"
#include "userspace/analyze/owners.h"
#include "userspace/tables/device_table.h"
#include "userspace/tables/process_table.h"
#include "userspace/tables/stack_table.h"
#include "userspace/analyze/mapping_table.h"

extern "C" {
#include "bpf/dma.h"
}

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string_view>
#include <vector>

namespace gputrace {

// A mapping's identity: its device (DeviceTable index) and bus address.
struct MappingKey {
  uint32_t device = 0;
  uint64_t addr = 0;
  bool operator==(const MappingKey&) const = default;
  auto operator<=>(const MappingKey&) const = default;
};
struct MappingKeyHash {
  size_t operator()(const MappingKey& k) const { return mix64(k.addr ^ (uint64_t{k.device} << 48)); }
};

struct ApiTotals {
  uint64_t maps = 0;
  uint64_t unmaps = 0;
  uint64_t map_bytes = 0;
  uint64_t unmap_bytes = 0;
};

struct DeviceDmaStats {
  std::array<ApiTotals, 3> by_api;  // page, sg, coherent: every event counted exactly
  uint64_t unknown_api_events = 0;
  uint64_t outstanding = 0;
  uint64_t outstanding_bytes = 0;
  // Lowest outstanding count/bytes since the growth detector's last sample: in-flight
  // mappings come and go, a leak raises the floor.
  uint64_t interval_min_outstanding = 0;
  uint64_t interval_min_bytes = 0;
  uint64_t unmaps_of_pre_trace_mappings = 0;
  uint64_t unmatched_unmaps = 0;  // dma_unmap_unmatched findings
  uint64_t duplicate_maps = 0;    // an address mapped again while still mapped (no IOMMU)
  uint64_t unbinds = 0;
  uint64_t leaked_at_unbind = 0;
  uint64_t leaked_after_owner_exit = 0;
};

// A process that exited with mappings still outstanding, waiting for its grace to pass.
struct PendingExit {
  uint64_t deadline_ns = 0;
  uint64_t exit_ns = 0;
  ProcessKey process;
  std::string comm;
  std::vector<uint32_t> owners;
};

struct MappingTrackerConfig {
  uint64_t owner_exit_grace_ns = 2'000'000'000;
  size_t unmap_history = size_t{1} << 18;  // recently unmapped addresses kept to spot double unmaps
};

class MappingTracker {
 public:
  MappingTracker(MappingTrackerConfig config, DeviceTable& devices, ProcessTable& processes, StackTable& stacks,
                 FindingSink& findings);

  void on_map(const gt_dma_event& e);
  void on_unmap(const gt_dma_event& e);
  // Records of the kernel's pairing (bpf/dma_table.bpf.h): the kernel counted these events
  // already (add_kernel_counts), so only the mappings are tracked here.
  void on_outstanding(const gt_dma_mapping_event& e);  // a mapping shipped (promoted, table full, ...)
  void on_released(const gt_dma_event& e);             // an unmap the kernel could not pair
  void on_closed(const gt_dma_mapping_event& e);       // a pair the kernel closed: double-unmap evidence
  void add_kernel_counts(uint32_t device, const gt_dma_counts& delta);
  void on_unbind(const gt_unbind_event& e);
  void on_process_exit(const ProcessInfo& process, uint64_t exit_ns);

  // Judges exited owners whose grace ended before now_ns (all records < now_ns seen).
  void run_due(uint64_t now_ns);
  uint64_t next_due_ns() const { return pending_.empty() ? UINT64_MAX : pending_.front().deadline_ns; }
  // End of input: exits whose grace had not passed by the last event stay unjudged.
  void finish();

  const DeviceDmaStats* device_stats(uint32_t device) const {
    return device < stats_.size() ? &stats_[device] : nullptr;
  }
  const std::vector<DeviceDmaStats>& all_device_stats() const { return stats_; }
  // Resets each device's interval minimum to its current outstanding count and bytes.
  void start_growth_interval();
  const OwnerTable& owners() const { return owners_; }
  const std::deque<PendingExit>& not_judged() const { return not_judged_; }
  size_t outstanding() const { return outstanding_.size() + duplicates_.size(); }

 private:
  struct Unmapped {
    uint64_t unmap_ts = 0;
    uint64_t seq = 0;
    Mapping mapping;
  };

  DeviceDmaStats& stats_for(uint32_t device);
  uint32_t owner_for(const ProcessInfo* process, uint32_t pid, uint8_t context, std::string_view event_comm,
                     int32_t stack);
  // The process that held pid at ts (a promoted mapping is shipped after it was made).
  const ProcessInfo* process_at(uint32_t pid, uint64_t ts) const;
  // owner_for() of a raw map event, through a small cache: the same process maps from the
  // same site again and again, and resolving an owner costs several hash lookups.
  uint32_t cached_owner(const gt_dma_event& e, int32_t stack);
  void track(const MappingKey& key, const Mapping& m);
  // Releases the mapping an unmap names; returns the size it had when found.
  std::optional<uint64_t> close(const gt_dma_event& e, uint32_t device, DeviceDmaStats& stats);
  // A mapping shipped after its owner exited: its owner is judged when the grace ends.
  void judge_later(uint32_t owner, const ProcessInfo& process);
  bool take_outstanding(const MappingKey& key, const gt_dma_event& unmap, Mapping& out);
  void release(const Mapping& m);
  void remember_unmapped(const MappingKey& key, const Mapping& m, uint64_t ts);
  void check_mismatch(const MappingKey& key, const Mapping& m, const gt_dma_event& unmap);
  void report_double_unmap(const MappingKey& key, const Unmapped& previous, const gt_dma_event& unmap);
  // why: the evidence fields saying what did not match, placed before the unmap's own
  Finding unmatched_unmap(const MappingKey& key, const Mapping& m, const gt_dma_event& unmap, Severity severity,
                          uint64_t start_ns, const nlohmann::ordered_json& why);
  void judge_exit(const PendingExit& exit);
  std::vector<std::pair<MappingKey, Mapping*>> collect(const auto& predicate);
  nlohmann::ordered_json mapping_evidence(const MappingKey& key, const Mapping& m) const;
  std::string owner_label(const Owner& owner) const;

  MappingTrackerConfig config_;
  DeviceTable& devices_;
  ProcessTable& processes_;
  StackTable& stacks_;
  FindingSink& findings_;
  OwnerTable owners_;
  std::vector<DeviceDmaStats> stats_;
  MappingTable outstanding_;
  std::multimap<MappingKey, Mapping> duplicates_;  // same key mapped again while outstanding
  OpenHashMap<MappingKey, Unmapped, MappingKeyHash> unmapped_;
  std::vector<std::pair<MappingKey, uint64_t>> unmapped_order_;  // ring: FIFO bound of unmapped_
  size_t unmapped_next_ = 0;                                     // oldest entry once the ring is full
  uint64_t unmapped_seq_ = 0;
  std::deque<PendingExit> pending_;     // by deadline
  std::deque<PendingExit> not_judged_;  // filled by finish()
  struct OwnerCacheEntry {
    uint64_t generation = UINT64_MAX;  // ProcessTable::generation() when filled
    uint32_t pid = 0;
    int32_t stack = -1;
    uint8_t context = 0;
    std::array<char, GT_COMM_LEN> comm{};
    uint32_t owner = 0;
  };
  std::array<OwnerCacheEntry, 256> owner_cache_{};
};

}  // namespace gputrace
