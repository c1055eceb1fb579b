#include "userspace/analyze/kernel_dma_counts.h"

namespace gputrace {

void KernelDmaCounts::on_counts(const gt_dma_counts_event& e) {
  gt_dma_counts& last = last_[SlotKey{e.dev, e.slot}];
  gt_dma_counts delta{};
  for (size_t i = 0; i < 3; ++i) {
    // Cumulative counters only grow while one tracer runs: a smaller value is another run's slot.
    if (e.counts.maps[i] < last.maps[i] || e.counts.unmaps[i] < last.unmaps[i] ||
        e.counts.map_bytes[i] < last.map_bytes[i] || e.counts.unmap_bytes[i] < last.unmap_bytes[i]) {
      ++reset_;
      last = gt_dma_counts{};
    }
  }
  for (size_t i = 0; i < 3; ++i) {
    delta.maps[i] = e.counts.maps[i] - last.maps[i];
    delta.unmaps[i] = e.counts.unmaps[i] - last.unmaps[i];
    delta.map_bytes[i] = e.counts.map_bytes[i] - last.map_bytes[i];
    delta.unmap_bytes[i] = e.counts.unmap_bytes[i] - last.unmap_bytes[i];
  }
  last = e.counts;
  mappings_.add_kernel_counts(devices_.intern_key(e.dev), delta);
}

}  // namespace gputrace
