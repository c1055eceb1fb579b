/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DMA-API handler logic (BPF side only): one inline function per event, shared by every
 * attach flavour in dma.bpf.c and by the cost benchmark in bench/.
 */
#ifndef GPUTRACE_BPF_DMA_BPF_H
#define GPUTRACE_BPF_DMA_BPF_H

#include "core_fixes.bpf.h"
#include "device.bpf.h"
#include "dma.h"
#include "ring.bpf.h"

#define GT_DMA_MAPPING_ERROR (~(__u64)0)
#define GT_SG_MAX_SEGMENTS 128

/* Kernel stacks of mapping sites, deduplicated by the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 32 * sizeof(__u64));
} gt_stacks SEC(".maps");


static __always_inline void dma_emit(void *ctx, __u16 kind, __u8 api, __u8 source, struct device *dev,
				     __u64 dma_addr, __u64 size, __u64 phys, __u32 nents, __u32 dir,
				     __u64 attrs)
{
	struct gt_dma_event *e;

	if (!gt_device_traced(dev))
		return;
	e = gt_reserve(&gt_ring_bulk, sizeof(*e));
	if (!e)
		return;
	gt_fill_header(&e->hdr, kind, sizeof(*e));
	e->dev = (__u64)dev;
	e->dma_addr = dma_addr;
	e->size = size;
	e->phys_addr = phys;
	e->nents = nents;
	e->stack_id = -1;
	if (kind == GT_EV_DMA_MAP) {
		/* only map sites are reported (a leak's evidence); unmap stacks are not needed */
		e->stack_id = bpf_get_stackid(ctx, &gt_stacks, 0);
		if (e->stack_id < 0)
			gt_count_loss(GT_LOSS_STACK);
	}
	e->api = api;
	e->dir = dir;
	e->context = gt_current_context();
	e->source = source;
	e->attrs = (__u32)attrs;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	gt_submit_bulk(e);
}

/* First segment's bus address and the total mapped length of the first `count` segments. */
static __always_inline __u64 sg_walk(struct scatterlist *sg, int count, __u64 *first_addr)
{
	__u64 total = 0;

	*first_addr = 0;
	for (int i = 0; i < GT_SG_MAX_SEGMENTS; i++) {
		unsigned long link;

		if (!sg || i >= count)
			break;
		link = BPF_CORE_READ(sg, page_link);
		if (link & 0x01) { /* SG_CHAIN: this slot points at the next array */
			sg = (struct scatterlist *)(link & ~0x03UL);
			continue;
		}
		if (i == 0)
			*first_addr = BPF_CORE_READ(sg, dma_address);
		total += gt_sg_dma_len(sg);
		if (link & 0x02) /* SG_END */
			break;
		sg++;
	}
	return total;
}

/* ---- handler logic ---- */

static __always_inline void on_map_page(void *ctx, __u8 src, struct device *dev, __u64 phys, __u64 addr,
					__u64 size, __u32 dir, __u64 attrs)
{
	if (addr == GT_DMA_MAPPING_ERROR)
		return;
	dma_emit(ctx, GT_EV_DMA_MAP, GT_DMA_PAGE, src, dev, addr, size, phys, 1, dir, attrs);
}

static __always_inline void on_unmap_page(void *ctx, __u8 src, struct device *dev, __u64 addr, __u64 size,
					  __u32 dir, __u64 attrs)
{
	dma_emit(ctx, GT_EV_DMA_UNMAP, GT_DMA_PAGE, src, dev, addr, size, 0, 1, dir, attrs);
}

static __always_inline void on_map_sg(void *ctx, __u8 src, struct device *dev, struct scatterlist *sg,
				      int mapped, __u32 dir, __u64 attrs)
{
	__u64 first, size;

	if (mapped <= 0) /* failed mapping: nothing to track */
		return;
	size = sg_walk(sg, mapped, &first);
	dma_emit(ctx, GT_EV_DMA_MAP, GT_DMA_SG, src, dev, first, size, 0, mapped, dir, attrs);
}

static __always_inline void on_unmap_sg(void *ctx, __u8 src, struct device *dev, struct scatterlist *sg,
					int nents, __u32 dir, __u64 attrs)
{
	__u64 first, size;

	size = sg_walk(sg, nents, &first);
	dma_emit(ctx, GT_EV_DMA_UNMAP, GT_DMA_SG, src, dev, first, size, 0, nents, dir, attrs);
}

static __always_inline void on_alloc(void *ctx, __u8 src, struct device *dev, __u64 addr, __u64 size,
				     __u64 attrs)
{
	if (addr == GT_DMA_MAPPING_ERROR || !addr)
		return;
	dma_emit(ctx, GT_EV_DMA_MAP, GT_DMA_COHERENT, src, dev, addr, size, 0, 1, 0 /* BIDIRECTIONAL */, attrs);
}

static __always_inline void on_free(void *ctx, __u8 src, struct device *dev, __u64 addr, __u64 size,
				    __u64 attrs)
{
	dma_emit(ctx, GT_EV_DMA_UNMAP, GT_DMA_COHERENT, src, dev, addr, size, 0, 1, 0, attrs);
}

#endif /* GPUTRACE_BPF_DMA_BPF_H */
