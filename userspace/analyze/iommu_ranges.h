// IommuTracker: outstanding IOMMU page-table ranges, by IOVA. iommu:map/unmap are not 1:1
// with DMA-API calls (an sg mapping maps per segment and unmaps the whole range at once),
// so an unmap releases every outstanding range that starts inside it. IOMMU events carry no
// device: a range is attributed to a device when a DMA-API map covering it follows.
#pragma once

extern "C" {
#include "bpf/iommu.h"
}

#include <cstdint>
#include <map>
#include <memory_resource>
#include <vector>

namespace gputrace {

struct IommuTotals {
  uint64_t maps = 0;
  uint64_t unmaps = 0;
  uint64_t map_bytes = 0;
  uint64_t unmap_bytes = 0;         // bytes the unmaps reported as unmapped
  uint64_t unmatched_unmaps = 0;    // released no range we saw mapped (mapped before tracing)
  uint64_t overlapping_maps = 0;    // replaced a range still outstanding (lost unmap, or another domain)
  uint64_t outstanding_bytes = 0;
};

struct IommuDeviceCounts {
  uint64_t maps = 0;    // ranges attributed to the device
  uint64_t unmaps = 0;  // unmaps that released at least one of its ranges
};

class IommuTracker {
 public:
  IommuTracker() : ranges_(&pool_) {}

  void on_map(const gt_iommu_event& e);
  void on_unmap(const gt_iommu_event& e);
  // A DMA-API mapping of [iova, iova+size) on device: claims the unattributed ranges inside.
  void attribute(uint64_t iova, uint64_t size, uint32_t device);

  const IommuTotals& totals() const { return totals_; }
  size_t outstanding_ranges() const { return ranges_.size(); }
  IommuDeviceCounts device_counts(uint32_t device) const {
    return device < per_device_.size() ? per_device_[device] : IommuDeviceCounts{};
  }

 private:
  struct Range {
    uint64_t end = 0;  // exclusive
    uint64_t paddr = 0;
    uint64_t map_ts = 0;
    int64_t device = -1;  // DeviceTable index once attributed
  };
  using RangeMap = std::pmr::map<uint64_t, Range>;

  IommuDeviceCounts& counts_for(uint32_t device);
  void erase_range(RangeMap::iterator it);

  // Map nodes come from a pool: a steady map/unmap churn allocates nothing.
  std::pmr::unsynchronized_pool_resource pool_;
  RangeMap ranges_;
  IommuTotals totals_;
  std::vector<IommuDeviceCounts> per_device_;
};

}  // namespace gputrace
