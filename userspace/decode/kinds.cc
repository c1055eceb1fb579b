#include "decode/kinds.h"

extern "C" {
#include "dma.h"
#include "host.h"
#include "iommu.h"
#include "pcie.h"
#include "proc.h"
}

#include <array>

namespace gputrace {
namespace {

constexpr std::array<KindInfo, GT_EV_KIND_MAX> make_table() {
  std::array<KindInfo, GT_EV_KIND_MAX> t{};
  t[GT_EV_PROC_EXEC] = {"proc_exec", sizeof(gt_proc_event)};
  t[GT_EV_PROC_FORK] = {"proc_fork", sizeof(gt_fork_event)};
  t[GT_EV_PROC_EXIT] = {"proc_exit", sizeof(gt_exit_event)};
  t[GT_EV_DMA_MAP] = {"dma_map", sizeof(gt_dma_event)};
  t[GT_EV_DMA_UNMAP] = {"dma_unmap", sizeof(gt_dma_event)};
  t[GT_EV_DEVICE] = {"device", sizeof(gt_device_event)};
  t[GT_EV_DRIVER_UNBIND] = {"driver_unbind", sizeof(gt_unbind_event)};
  t[GT_EV_IOMMU_MAP] = {"iommu_map", sizeof(gt_iommu_event)};
  t[GT_EV_IOMMU_UNMAP] = {"iommu_unmap", sizeof(gt_iommu_event)};
  t[GT_EV_IOMMU_FAULT] = {"iommu_fault", sizeof(gt_iommu_fault_event)};
  t[GT_EV_IOMMU_LATENCY] = {"iommu_latency", sizeof(gt_iommu_latency_event)};
  t[GT_EV_AER] = {"aer", sizeof(gt_aer_event)};
  t[GT_EV_SWIOTLB_BOUNCE] = {"swiotlb_bounce", sizeof(gt_swiotlb_event)};
  t[GT_EV_STACK] = {"stack", sizeof(gt_stack_event)};
  t[GT_EV_PROC_INFO] = {"proc_info", sizeof(gt_proc_event)};
  t[GT_EV_DEVICE_FACTS] = {"device_facts", sizeof(gt_device_facts_event)};
  t[GT_EV_LOSS] = {"loss", sizeof(gt_loss_event)};
  return t;
}

constexpr auto kTable = make_table();
constexpr KindInfo kUnknown{};

}  // namespace

const KindInfo& kind_info(uint16_t kind) { return kind < kTable.size() ? kTable[kind] : kUnknown; }

}  // namespace gputrace
