// KernelDmaCounts: turns the per-device DMA-API counts BPF keeps (GT_EV_DMA_COUNTS, cumulative
// per counter slot) into the mapping tracker's per-device totals. With pairing in the kernel
// the short-lived maps and unmaps never reach userspace: these counts are the only record of
// them, and they are exact.
#pragma once

#include "userspace/analyze/mappings.h"
#include "userspace/tables/device_table.h"

extern "C" {
#include "bpf/dma.h"
}

#include <cstdint>
#include <map>

namespace gputrace {

class KernelDmaCounts {
 public:
  KernelDmaCounts(DeviceTable& devices, MappingTracker& mappings) : devices_(devices), mappings_(mappings) {}

  void on_counts(const gt_dma_counts_event& e);
  // Records whose counts went backwards (a new tracer's slot reusing a number): counted, not added.
  uint64_t counts_reset() const { return reset_; }

 private:
  struct SlotKey {
    uint64_t dev;
    uint32_t slot;
    auto operator<=>(const SlotKey&) const = default;
  };
  DeviceTable& devices_;
  MappingTracker& mappings_;
  std::map<SlotKey, gt_dma_counts> last_;
  uint64_t reset_ = 0;
};

}  // namespace gputrace
