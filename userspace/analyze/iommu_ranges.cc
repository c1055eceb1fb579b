#include "userspace/analyze/iommu_ranges.h"

#include <iterator>

namespace gputrace {

IommuDeviceCounts& IommuTracker::counts_for(uint32_t device) {
  if (device >= per_device_.size()) per_device_.resize(device + 1);
  return per_device_[device];
}

void IommuTracker::erase_range(RangeMap::iterator it) {
  totals_.outstanding_bytes -= it->second.end - it->first;
  ranges_.erase(it);
}

void IommuTracker::on_map(const gt_iommu_event& e) {
  ++totals_.maps;
  totals_.map_bytes += e.size;
  if (e.size == 0) return;
  const uint64_t end = e.iova + e.size < e.iova ? UINT64_MAX : e.iova + e.size;
  auto it = ranges_.lower_bound(e.iova);
  if (it != ranges_.begin() && std::prev(it)->second.end > e.iova) --it;
  bool overlapped = false;
  while (it != ranges_.end() && it->first < end) {
    auto next = std::next(it);
    erase_range(it);
    overlapped = true;
    it = next;
  }
  if (overlapped) ++totals_.overlapping_maps;
  ranges_.emplace_hint(it, e.iova, Range{end, e.paddr, e.hdr.ts_ns, -1});
  totals_.outstanding_bytes += end - e.iova;
}

void IommuTracker::on_unmap(const gt_iommu_event& e) {
  ++totals_.unmaps;
  totals_.unmap_bytes += e.unmapped;
  const uint64_t length = e.size != 0 ? e.size : e.unmapped;
  const uint64_t end = e.iova + length < e.iova ? UINT64_MAX : e.iova + length;
  int64_t device = -1;
  bool released = false;
  for (auto it = ranges_.lower_bound(e.iova); it != ranges_.end() && it->first < end;) {
    if (device < 0) device = it->second.device;
    auto next = std::next(it);
    erase_range(it);
    released = true;
    it = next;
  }
  if (!released) ++totals_.unmatched_unmaps;
  if (device >= 0) ++counts_for(static_cast<uint32_t>(device)).unmaps;
}

void IommuTracker::attribute(uint64_t iova, uint64_t size, uint32_t device) {
  const uint64_t end = iova + size < iova ? UINT64_MAX : iova + size;
  for (auto it = ranges_.lower_bound(iova); it != ranges_.end() && it->first < end; ++it) {
    if (it->second.device >= 0) continue;
    it->second.device = device;
    ++counts_for(device).maps;
  }
}

}  // namespace gputrace
