#include "decode/kinds.h"

extern "C" {
#include "dma.h"
#include "gc.h"
#include "gpu.h"
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
  t[GT_EV_DMA_OUTSTANDING] = {"dma_outstanding", sizeof(gt_dma_mapping_event)};
  t[GT_EV_DMA_RELEASED] = {"dma_released", sizeof(gt_dma_event)};
  t[GT_EV_DMA_CLOSED] = {"dma_closed", sizeof(gt_dma_mapping_event)};
  t[GT_EV_DMA_COUNTS] = {"dma_counts", sizeof(gt_dma_counts_event)};
  t[GT_EV_IOMMU_MAP] = {"iommu_map", sizeof(gt_iommu_event)};
  t[GT_EV_IOMMU_UNMAP] = {"iommu_unmap", sizeof(gt_iommu_event)};
  t[GT_EV_IOMMU_FAULT] = {"iommu_fault", sizeof(gt_iommu_fault_event)};
  t[GT_EV_IOMMU_LATENCY] = {"iommu_latency", sizeof(gt_iommu_latency_event)};
  t[GT_EV_AER] = {"aer", sizeof(gt_aer_event)};
  t[GT_EV_SWIOTLB_BOUNCE] = {"swiotlb_bounce", sizeof(gt_swiotlb_event)};
  t[GT_EV_GC_PAUSE] = {"gc_pause", sizeof(gt_gc_pause_event)};
  t[GT_EV_GC_CYCLE] = {"gc_cycle", sizeof(gt_gc_cycle_event)};
  t[GT_EV_GC_BEGIN] = {"gc_begin", sizeof(gt_gc_begin_event)};
  t[GT_EV_GPU_BATCH] = {"gpu_batch", sizeof(gt_gpu_batch_event)};
  t[GT_EV_GPU_KERNEL] = {"gpu_kernel", sizeof(gt_gpu_kernel_event)};
  t[GT_EV_GPU_MEMCPY] = {"gpu_memcpy", sizeof(gt_gpu_memcpy_event)};
  t[GT_EV_GPU_MEMSET] = {"gpu_memset", sizeof(gt_gpu_memset_event)};
  t[GT_EV_GPU_NAME] = {"gpu_name", sizeof(gt_gpu_name_event)};
  t[GT_EV_GPU_STATUS] = {"gpu_status", sizeof(gt_gpu_status_event)};
  t[GT_EV_GPU_API] = {"gpu_api", sizeof(gt_gpu_api_event)};
  t[GT_EV_GPU_MEMORY] = {"gpu_memory", sizeof(gt_gpu_memory_event)};
  t[GT_EV_GPU_DEVICE] = {"gpu_device", sizeof(gt_gpu_device_event)};
  t[GT_EV_GPU_LIB_LOSSES] = {"gpu_lib_losses", sizeof(gt_gpu_lib_losses_event)};
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
