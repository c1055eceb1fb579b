#include "userspace/loader/hooks.h"

#include <deque>
#include <string>

namespace gputrace {

std::string_view to_string(Flavour f) {
  switch (f) {
    case Flavour::TpBtf: return "tp_btf";
    case Flavour::RawTp: return "raw_tp";
    case Flavour::Fentry: return "fentry";
    case Flavour::Kprobe: return "kprobe";
  }
  return "?";
}

namespace {

// A tracepoint hook: tp_btf, else raw_tp; then trampolines, then kprobes on a function.
HookSpec tracepoint_hook(std::string_view id, std::string_view object, std::string_view concern,
                         std::vector<std::string_view> tracepoints, std::vector<std::string_view> functions,
                         std::string_view prefix, std::vector<std::string_view> fentry,
                         std::vector<std::string_view> kprobe) {
  HookSpec h{id, object, concern, std::move(tracepoints), std::move(functions), {}};
  // program names follow <prefix>_<flavour> in bpf/*.bpf.c
  static std::deque<std::string> storage;  // stable addresses: the views below point into it
  storage.push_back(std::string(prefix) + "_tp_btf");
  h.flavours.push_back({Flavour::TpBtf, {storage.back()}});
  storage.push_back(std::string(prefix) + "_raw_tp");
  h.flavours.push_back({Flavour::RawTp, {storage.back()}});
  if (!fentry.empty()) h.flavours.push_back({Flavour::Fentry, std::move(fentry)});
  if (!kprobe.empty()) h.flavours.push_back({Flavour::Kprobe, std::move(kprobe)});
  return h;
}

std::vector<HookSpec> build_table() {
  std::vector<HookSpec> t;
  t.push_back(tracepoint_hook("dma_map_page", "dma", "DMA-API page mappings", {"dma_map_phys", "dma_map_page"},
                              {"dma_map_page_attrs"}, "dma_map_page", {"dma_map_page_fexit"},
                              {"dma_map_page_kprobe", "dma_map_page_kretprobe"}));
  t.push_back(tracepoint_hook("dma_unmap_page", "dma", "DMA-API page unmappings", {"dma_unmap_phys", "dma_unmap_page"},
                              {"dma_unmap_page_attrs"}, "dma_unmap_page", {"dma_unmap_page_fentry"},
                              {"dma_unmap_page_kprobe"}));
  // 6.1's nvme maps sg through __dma_map_sg_attrs: dma_map_sg_attrs alone would miss it
  t.push_back(tracepoint_hook("dma_map_sg", "dma", "DMA-API scatter-gather mappings", {"dma_map_sg"},
                              {"__dma_map_sg_attrs"}, "dma_map_sg", {"dma_map_sg_fexit"},
                              {"dma_map_sg_kprobe", "dma_map_sg_kretprobe"}));
  t.push_back(tracepoint_hook("dma_unmap_sg", "dma", "DMA-API scatter-gather unmappings", {"dma_unmap_sg"},
                              {"dma_unmap_sg_attrs"}, "dma_unmap_sg", {"dma_unmap_sg_fentry"},
                              {"dma_unmap_sg_kprobe"}));
  t.push_back(tracepoint_hook("dma_alloc", "dma", "coherent DMA allocations", {"dma_alloc"}, {"dma_alloc_attrs"},
                              "dma_alloc", {"dma_alloc_fexit"}, {"dma_alloc_kprobe", "dma_alloc_kretprobe"}));
  t.push_back(tracepoint_hook("dma_free", "dma", "coherent DMA frees", {"dma_free"}, {"dma_free_attrs"}, "dma_free",
                              {"dma_free_fentry"}, {"dma_free_kprobe"}));
  t.push_back(HookSpec{"driver_unbind", "driver", "driver unbind (leak check point)", {},
                       {"device_release_driver_internal"},
                       {{Flavour::Fentry, {"unbind_fentry", "unbind_fexit"}},
                        {Flavour::Kprobe, {"unbind_kprobe", "unbind_kretprobe"}}}});
  t.push_back(tracepoint_hook("iommu_map", "iommu", "IOMMU page-table maps", {"map"}, {}, "iommu_map", {}, {}));
  t.push_back(tracepoint_hook("iommu_unmap", "iommu", "IOMMU page-table unmaps", {"unmap"}, {}, "iommu_unmap", {}, {}));
  t.push_back(tracepoint_hook("iommu_fault", "iommu", "IOMMU faults (AMD-Vi, SMMU; VT-d via the kernel log)",
                              {"io_page_fault"}, {}, "iommu_fault", {}, {}));
  t.push_back(HookSpec{"iommu_map_latency", "iommu", "latency of the DMA-IOMMU map path", {},
                       {"iommu_dma_map_phys", "iommu_dma_map_page"},
                       {{Flavour::Fentry, {"iommu_dma_map_fentry", "iommu_dma_map_fexit"}},
                        {Flavour::Kprobe, {"iommu_dma_map_kprobe", "iommu_dma_map_kretprobe"}}}});
  t.push_back(HookSpec{"iommu_unmap_latency", "iommu", "latency of the DMA-IOMMU unmap path (IOTLB flush)", {},
                       {"iommu_dma_unmap_phys", "iommu_dma_unmap_page"},
                       {{Flavour::Fentry, {"iommu_dma_unmap_fentry", "iommu_dma_unmap_fexit"}},
                        {Flavour::Kprobe, {"iommu_dma_unmap_kprobe", "iommu_dma_unmap_kretprobe"}}}});
  t.push_back(tracepoint_hook("aer", "pcie", "PCIe AER errors", {"aer_event"}, {}, "aer", {}, {}));
  t.push_back(tracepoint_hook("swiotlb_bounce", "pcie", "swiotlb bounce buffering", {"swiotlb_bounced"}, {},
                              "swiotlb", {}, {}));
  t.push_back(tracepoint_hook("proc_exec", "proc", "process exec", {"sched_process_exec"}, {}, "proc_exec", {}, {}));
  t.push_back(tracepoint_hook("proc_fork", "proc", "process fork", {"sched_process_fork"}, {}, "proc_fork", {}, {}));
  t.push_back(tracepoint_hook("proc_exit", "proc", "process exit", {"sched_process_exit"}, {}, "proc_exit", {}, {}));
  return t;
}

}  // namespace

std::span<const HookSpec> all_hooks() {
  static const std::vector<HookSpec> table = build_table();
  return table;
}

}  // namespace gputrace
