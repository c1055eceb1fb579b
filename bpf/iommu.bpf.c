// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMU collector: page-table map/unmap (iommu:map / iommu:unmap), faults reported through
 * iommu:io_page_fault, and the latency of the DMA-IOMMU map/unmap path (in strict mode the
 * unmap pays the IOTLB flush before it returns).
 *
 * Intel VT-d never calls report_iommu_fault(), so its faults never reach io_page_fault: the
 * daemon reads the kernel's own DMAR fault report instead (userspace/host/kmsg_faults.cc).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "device.bpf.h"
#include "iommu.h"
#include "ring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Argument index of `size` in the map function the loader chose: iommu_dma_map_page(dev,
 * page, offset, size, ...) until 6.17, iommu_dma_map_phys(dev, phys, size, ...) after. */
const volatile __u32 map_size_arg = 3;

static __always_inline void on_iommu_map(__u8 src, __u64 iova, __u64 paddr, __u64 size)
{
	struct gt_iommu_event *e = gt_reserve(&gt_ring_bulk, sizeof(*e));

	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_IOMMU_MAP, sizeof(*e));
	e->iova = iova;
	e->paddr = paddr;
	e->size = size;
	e->unmapped = 0;
	e->source = src;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	gt_submit_bulk(e);
}

static __always_inline void on_iommu_unmap(__u8 src, __u64 iova, __u64 size, __u64 unmapped)
{
	struct gt_iommu_event *e = gt_reserve(&gt_ring_bulk, sizeof(*e));

	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_IOMMU_UNMAP, sizeof(*e));
	e->iova = iova;
	e->paddr = 0;
	e->size = size;
	e->unmapped = unmapped;
	e->source = src;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	gt_submit_bulk(e);
}

static __always_inline void on_fault(struct device *dev, __u64 iova, int flags)
{
	struct gt_iommu_fault_event *e;

	gt_device_traced(dev); /* describes the device; a fault is reported whatever the filter */
	e = gt_reserve(&gt_ring_critical, sizeof(*e));
	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_IOMMU_FAULT, sizeof(*e));
	e->dev = (__u64)dev;
	e->iova = iova;
	e->flags = flags;
	e->reason = 0;
	e->name[0] = 0;
	if (dev)
		bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(dev, kobj.name));
	e->source = GT_FAULT_TRACEPOINT;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	gt_submit_critical(e);
}

#define IOMMU_TRACEPOINT_WRAPPERS(flavour, src)                                                        \
	SEC(#flavour "/map")                                                                           \
	int BPF_PROG(iommu_map_##flavour, unsigned long iova, phys_addr_t paddr, size_t size)           \
	{                                                                                              \
		on_iommu_map(src, iova, paddr, size);                                                  \
		return 0;                                                                              \
	}                                                                                              \
	SEC(#flavour "/unmap")                                                                         \
	int BPF_PROG(iommu_unmap_##flavour, unsigned long iova, size_t size, size_t unmapped)           \
	{                                                                                              \
		on_iommu_unmap(src, iova, size, unmapped);                                             \
		return 0;                                                                              \
	}                                                                                              \
	SEC(#flavour "/io_page_fault")                                                                 \
	int BPF_PROG(iommu_fault_##flavour, struct device *dev, unsigned long iova, int flags)          \
	{                                                                                              \
		on_fault(dev, iova, flags);                                                            \
		return 0;                                                                              \
	}

IOMMU_TRACEPOINT_WRAPPERS(tp_btf, GT_SRC_TP_BTF)
IOMMU_TRACEPOINT_WRAPPERS(raw_tp, GT_SRC_RAW_TP)

/* ---- latency of iommu_dma_map_* / iommu_dma_unmap_* (entry time per thread) ---- */

struct call_start {
	__u64 ts;
	__u64 dev;
	__u64 arg1; /* unmap: the IOVA */
	__u64 size;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct call_start);
} iommu_calls SEC(".maps");

static __always_inline void call_begin(struct device *dev, __u64 arg1, __u64 size)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call_start s = { .ts = bpf_ktime_get_ns(), .dev = (__u64)dev, .arg1 = arg1, .size = size };

	if (!gt_device_traced(dev))
		return;
	if (bpf_map_update_elem(&iommu_calls, &tid, &s, BPF_ANY))
		gt_count_loss(GT_LOSS_PENDING_TABLE);
}

static __always_inline void call_end(__u8 op, __u8 src, __u64 map_ret)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct call_start *s = bpf_map_lookup_elem(&iommu_calls, &tid);
	struct gt_iommu_latency_event *e;

	if (!s)
		return;
	e = gt_reserve(&gt_ring_bulk, sizeof(*e));
	if (e) {
		gt_fill_header(&e->hdr, GT_EV_IOMMU_LATENCY, sizeof(*e));
		e->dev = s->dev;
		e->iova = op == GT_IOMMU_OP_MAP ? map_ret : s->arg1;
		e->size = s->size;
		e->latency_ns = e->hdr.ts_ns - s->ts;
		e->op = op;
		e->source = src;
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		gt_submit_bulk(e);
	}
	bpf_map_delete_elem(&iommu_calls, &tid);
}

SEC("fentry/iommu_dma_map_page")
int BPF_PROG(iommu_dma_map_fentry)
{
	__u64 dev = 0, size = 0;

	bpf_get_func_arg(ctx, 0, &dev);
	bpf_get_func_arg(ctx, map_size_arg, &size);
	call_begin((struct device *)dev, 0, size);
	return 0;
}

SEC("fexit/iommu_dma_map_page")
int BPF_PROG(iommu_dma_map_fexit)
{
	__u64 ret = 0;

	bpf_get_func_ret(ctx, &ret);
	call_end(GT_IOMMU_OP_MAP, GT_SRC_FENTRY, ret);
	return 0;
}

SEC("fentry/iommu_dma_unmap_page")
int BPF_PROG(iommu_dma_unmap_fentry, struct device *dev, dma_addr_t handle, size_t size)
{
	call_begin(dev, handle, size);
	return 0;
}

SEC("fexit/iommu_dma_unmap_page")
int BPF_PROG(iommu_dma_unmap_fexit)
{
	call_end(GT_IOMMU_OP_UNMAP, GT_SRC_FENTRY, 0);
	return 0;
}

SEC("kprobe/iommu_dma_map_page")
int BPF_KPROBE(iommu_dma_map_kprobe, struct device *dev)
{
	__u64 size = map_size_arg == 2 ? PT_REGS_PARM3(ctx) : PT_REGS_PARM4(ctx);

	call_begin(dev, 0, size);
	return 0;
}

SEC("kretprobe/iommu_dma_map_page")
int BPF_KRETPROBE(iommu_dma_map_kretprobe, dma_addr_t ret)
{
	call_end(GT_IOMMU_OP_MAP, GT_SRC_KPROBE, ret);
	return 0;
}

SEC("kprobe/iommu_dma_unmap_page")
int BPF_KPROBE(iommu_dma_unmap_kprobe, struct device *dev, dma_addr_t handle, size_t size)
{
	call_begin(dev, handle, size);
	return 0;
}

SEC("kretprobe/iommu_dma_unmap_page")
int BPF_KRETPROBE(iommu_dma_unmap_kretprobe)
{
	call_end(GT_IOMMU_OP_UNMAP, GT_SRC_KPROBE, 0);
	return 0;
}
