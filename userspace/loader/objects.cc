#include "userspace/loader/objects.h"

#include "dma.skel.h"
#include "dma_noirq.skel.h"
#include "driver.skel.h"
#include "iommu.skel.h"
#include "pcie.skel.h"
#include "proc.skel.h"

#include <array>

namespace gputrace {

const SkeletonOps* find_kernel_object(std::string_view name) {
  // proc first: the owners of mappings must be known before their first mapping
  static const std::array<SkeletonOps, 6> objects = {
      skeleton_ops<proc_bpf>("proc"),     skeleton_ops<dma_bpf>("dma"),     skeleton_ops<dma_noirq_bpf>("dma_noirq"),
      skeleton_ops<driver_bpf>("driver"), skeleton_ops<iommu_bpf>("iommu"), skeleton_ops<pcie_bpf>("pcie")};
  for (const auto& o : objects)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace gputrace
