/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The record kinds, defined once. Everything that lists kinds is generated from this table:
 * the C enum below (BPF and the injection library), the daemon's kind table and typed visitor
 * (userspace/decode/kinds.h), the capture format's documentation and the fuzzers' seeds.
 *
 *   X(NAME, number, "name", payload struct, source, stream)
 *
 * number  part of the capture format: never reuse one. Ranges by source: proc 1..9, dma
 *         10..19, iommu 20..29, pcie 30..39, gc 40..59, gpu 60..79, host (written by the
 *         daemon itself) 100..127.
 * source  which part of gputrace produces it (metrics count records by it).
 * stream  KERNEL: on the engine's kernel clock (BPF and daemon-side records); GPU: sent by the
 *         CUPTI injection library inside a batch, untrusted, on its own reorder window;
 *         ENVELOPE: the batch itself, unpacked by the GPU ingest, never seen by the engine.
 *
 * Payload structs live in the concern's header (bpf/proc.h, dma.h, ...); this file only
 * names them, so it compiles wherever common.h does.
 */
#ifndef GPUTRACE_BPF_KINDS_H
#define GPUTRACE_BPF_KINDS_H

#define GT_RECORD_KINDS(X)                                                                    \
	X(PROC_EXEC, 1, "proc_exec", gt_proc_event, proc, KERNEL)                              \
	X(PROC_FORK, 2, "proc_fork", gt_fork_event, proc, KERNEL)                              \
	X(PROC_EXIT, 3, "proc_exit", gt_exit_event, proc, KERNEL)                              \
	X(DMA_MAP, 10, "dma_map", gt_dma_event, dma, KERNEL)                                   \
	X(DMA_UNMAP, 11, "dma_unmap", gt_dma_event, dma, KERNEL)                               \
	X(DEVICE, 12, "device", gt_device_event, dma, KERNEL)                                  \
	X(DRIVER_UNBIND, 13, "driver_unbind", gt_unbind_event, dma, KERNEL)                    \
	/* DMA API paired in the kernel (bpf/dma.h, docs/architecture.md): */                 \
	/* a mapping userspace must track from now on */                                      \
	X(DMA_OUTSTANDING, 14, "dma_outstanding", gt_dma_mapping_event, dma, KERNEL)           \
	/* an unmap the kernel could not pair: of an outstanding mapping, or of nothing */    \
	X(DMA_RELEASED, 15, "dma_released", gt_dma_event, dma, KERNEL)                         \
	/* a pair the kernel closed, sent as evidence when its address is unmapped again */   \
	X(DMA_CLOSED, 16, "dma_closed", gt_dma_mapping_event, dma, KERNEL)                     \
	/* per-device DMA-API counts kept by BPF (written by the daemon) */                   \
	X(DMA_COUNTS, 17, "dma_counts", gt_dma_counts_event, dma, KERNEL)                      \
	X(IOMMU_MAP, 20, "iommu_map", gt_iommu_event, iommu, KERNEL)                           \
	X(IOMMU_UNMAP, 21, "iommu_unmap", gt_iommu_event, iommu, KERNEL)                       \
	X(IOMMU_FAULT, 22, "iommu_fault", gt_iommu_fault_event, iommu, KERNEL)                 \
	X(IOMMU_LATENCY, 23, "iommu_latency", gt_iommu_latency_event, iommu, KERNEL)           \
	X(AER, 30, "aer", gt_aer_event, pcie, KERNEL)                                          \
	X(SWIOTLB_BOUNCE, 31, "swiotlb_bounce", gt_swiotlb_event, pcie, KERNEL)                \
	/* one finished pause (or CPython collection) */                                      \
	X(GC_PAUSE, 40, "gc_pause", gt_gc_pause_event, gc, KERNEL)                             \
	/* one finished Go GC cycle (gcStart .. mark termination) */                          \
	X(GC_CYCLE, 41, "gc_cycle", gt_gc_cycle_event, gc, KERNEL)                             \
	/* a pause began: its GC_PAUSE follows when it ends */                                \
	X(GC_BEGIN, 42, "gc_begin", gt_gc_begin_event, gc, KERNEL)                             \
	/* written by BPF: hdr + struct gt_gpu_batch + records */                             \
	X(GPU_BATCH, 60, "gpu_batch", gt_gpu_batch_event, gpu, ENVELOPE)                       \
	X(GPU_KERNEL, 61, "gpu_kernel", gt_gpu_kernel_event, gpu, GPU)                         \
	X(GPU_MEMCPY, 62, "gpu_memcpy", gt_gpu_memcpy_event, gpu, GPU)                         \
	X(GPU_MEMSET, 63, "gpu_memset", gt_gpu_memset_event, gpu, GPU)                         \
	/* a kernel name, interned: sent once before its first use */                         \
	X(GPU_NAME, 64, "gpu_name", gt_gpu_name_event, gpu, GPU)                               \
	/* library state: CUPTI result, clock mode, drop counts */                            \
	X(GPU_STATUS, 65, "gpu_status", gt_gpu_status_event, gpu, GPU)                         \
	/* CUDA runtime/driver API call (GPUTRACE_CUPTI_API=1) */                             \
	X(GPU_API, 66, "gpu_api", gt_gpu_api_event, gpu, GPU)                                  \
	/* device memory allocation/release (GPUTRACE_CUPTI_MEMORY=1) */                      \
	X(GPU_MEMORY, 67, "gpu_memory", gt_gpu_memory_event, gpu, GPU)                         \
	/* which PCI device a CUDA device id is: sent before its activity */                  \
	X(GPU_DEVICE, 68, "gpu_device", gt_gpu_device_event, gpu, GPU)                         \
	/* what the library saw but could not ship: sent with each status */                 \
	X(GPU_LIB_LOSSES, 69, "gpu_lib_losses", gt_gpu_lib_losses_event, gpu, GPU)             \
	/* CUPTI's or the driver's own cost (CUPTI OVERHEAD records) */                       \
	X(GPU_OVERHEAD, 70, "gpu_overhead", gt_gpu_overhead_event, gpu, GPU)                   \
	/* what the library's guards dropped: sent with each status */                        \
	X(GPU_GUARDS, 71, "gpu_guards", gt_gpu_guards_event, gpu, GPU)                         \
	/* one CUDA graph launch (GPUTRACE_CUPTI_GRAPHS=graph) */                             \
	X(GPU_GRAPH, 72, "gpu_graph", gt_gpu_graph_event, gpu, GPU)                            \
	/* a kernel stack, symbolized where it was recorded */                                \
	X(STACK, 100, "stack", gt_stack_event, host, KERNEL)                                   \
	/* a process that existed when tracing started */                                     \
	X(PROC_INFO, 101, "proc_info", gt_proc_event, host, KERNEL)                            \
	/* sysfs facts of a device: IOMMU group and mode, PCIe link */                        \
	X(DEVICE_FACTS, 102, "device_facts", gt_device_facts_event, host, KERNEL)              \
	/* cumulative value of one loss counter */                                            \
	X(LOSS, 103, "loss", gt_loss_event, host, KERNEL)                                      \
	/* the load shedder changed level */                                                  \
	X(SHED, 104, "shed", gt_shed_event, host, KERNEL)

#define GT_KIND_ENUMERATOR(NAME, NUMBER, ...) GT_EV_##NAME = NUMBER,

/* Record kinds: GT_EV_<NAME> = number. */
enum gt_event_kind {
	GT_EV_NONE = 0,
	GT_RECORD_KINDS(GT_KIND_ENUMERATOR)
	GT_EV_KIND_MAX = 128, /* every number is below this */
};

#endif /* GPUTRACE_BPF_KINDS_H */
