// SPDX-License-Identifier: GPL-2.0
/*
 * DMA-API collector: map/unmap of pages and scatter-gather lists, coherent alloc/free.
 *
 * Each handler's logic is one inline function; each attach flavour is a thin wrapper:
 *   tp_btf / raw_tp   dma:* tracepoints (6.12+; 6.18 names the page pair dma_map_phys /
 *                     dma_unmap_phys: the loader sets the target name it found)
 *   fentry / fexit    the *_attrs functions, where trampolines load
 *   kprobe/kretprobe  the same functions, where only kprobes exist (6.1's nvme maps sg
 *                     through __dma_map_sg_attrs, so that is the sg map hook)
 * The loader autoloads one flavour per handler, chosen by feature probes.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "core_fixes.bpf.h"
#include "device.bpf.h"
#include "dma.h"
#include "ring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define GT_DMA_MAPPING_ERROR (~(__u64)0)
#define GT_SG_MAX_SEGMENTS 128

/* Kernel stacks of mapping sites, deduplicated by the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 32 * sizeof(__u64));
} gt_stacks SEC(".maps");

/* kprobe flavour: arguments stashed at entry, completed at return (per thread). */
struct dma_pending {
	struct device *dev;
	__u64 size;
	void *ptr; /* sg list, or where dma_alloc_attrs stores the handle */
	__u32 dir;
	__u32 attrs;
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct dma_pending);
} dma_pending_calls SEC(".maps");

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

/* ---- tp_btf and raw_tp: dma:* tracepoints (target names set by the loader) ---- */

#define DMA_TRACEPOINT_WRAPPERS(flavour, src)                                                          \
	SEC(#flavour "/dma_map_page")                                                                  \
	int BPF_PROG(dma_map_page_##flavour, struct device *dev, phys_addr_t phys, dma_addr_t addr,     \
		     size_t size, int dir, unsigned long attrs)                                        \
	{                                                                                              \
		on_map_page(ctx, src, dev, phys, addr, size, dir, attrs);                              \
		return 0;                                                                              \
	}                                                                                              \
	SEC(#flavour "/dma_unmap_page")                                                                \
	int BPF_PROG(dma_unmap_page_##flavour, struct device *dev, dma_addr_t addr, size_t size,        \
		     int dir, unsigned long attrs)                                                     \
	{                                                                                              \
		on_unmap_page(ctx, src, dev, addr, size, dir, attrs);                                  \
		return 0;                                                                              \
	}                                                                                              \
	SEC(#flavour "/dma_map_sg")                                                                    \
	int BPF_PROG(dma_map_sg_##flavour, struct device *dev, struct scatterlist *sgl, int nents,      \
		     int ents, int dir, unsigned long attrs)                                           \
	{                                                                                              \
		on_map_sg(ctx, src, dev, sgl, ents, dir, attrs);                                       \
		return 0;                                                                              \
	}                                                                                              \
	SEC(#flavour "/dma_unmap_sg")                                                                  \
	int BPF_PROG(dma_unmap_sg_##flavour, struct device *dev, struct scatterlist *sgl, int nents,    \
		     int dir, unsigned long attrs)                                                     \
	{                                                                                              \
		on_unmap_sg(ctx, src, dev, sgl, nents, dir, attrs);                                    \
		return 0;                                                                              \
	}                                                                                              \
	SEC(#flavour "/dma_alloc")                                                                     \
	int BPF_PROG(dma_alloc_##flavour, struct device *dev, void *virt, dma_addr_t addr, size_t size, \
		     int dir, gfp_t flags, unsigned long attrs)                                        \
	{                                                                                              \
		on_alloc(ctx, src, dev, addr, size, attrs);                                            \
		return 0;                                                                              \
	}                                                                                              \
	SEC(#flavour "/dma_free")                                                                      \
	int BPF_PROG(dma_free_##flavour, struct device *dev, void *virt, dma_addr_t addr, size_t size,  \
		     int dir, unsigned long attrs)                                                     \
	{                                                                                              \
		on_free(ctx, src, dev, addr, size, attrs);                                             \
		return 0;                                                                              \
	}

DMA_TRACEPOINT_WRAPPERS(tp_btf, GT_SRC_TP_BTF)
DMA_TRACEPOINT_WRAPPERS(raw_tp, GT_SRC_RAW_TP)

/* ---- fentry/fexit on the *_attrs functions ---- */

SEC("fexit/dma_map_page_attrs")
int BPF_PROG(dma_map_page_fexit, struct device *dev, struct page *page, size_t offset, size_t size, int dir,
	     unsigned long attrs, dma_addr_t ret)
{
	on_map_page(ctx, GT_SRC_FENTRY, dev, 0, ret, size, dir, attrs);
	return 0;
}

SEC("fentry/dma_unmap_page_attrs")
int BPF_PROG(dma_unmap_page_fentry, struct device *dev, dma_addr_t addr, size_t size, int dir,
	     unsigned long attrs)
{
	on_unmap_page(ctx, GT_SRC_FENTRY, dev, addr, size, dir, attrs);
	return 0;
}

SEC("fexit/__dma_map_sg_attrs")
int BPF_PROG(dma_map_sg_fexit, struct device *dev, struct scatterlist *sg, int nents, int dir,
	     unsigned long attrs, int ret)
{
	on_map_sg(ctx, GT_SRC_FENTRY, dev, sg, ret, dir, attrs);
	return 0;
}

SEC("fentry/dma_unmap_sg_attrs")
int BPF_PROG(dma_unmap_sg_fentry, struct device *dev, struct scatterlist *sg, int nents, int dir,
	     unsigned long attrs)
{
	on_unmap_sg(ctx, GT_SRC_FENTRY, dev, sg, nents, dir, attrs);
	return 0;
}

SEC("fexit/dma_alloc_attrs")
int BPF_PROG(dma_alloc_fexit, struct device *dev, size_t size, dma_addr_t *handle, gfp_t flag,
	     unsigned long attrs, void *ret)
{
	dma_addr_t addr = 0;

	if (ret)
		bpf_probe_read_kernel(&addr, sizeof(addr), handle);
	on_alloc(ctx, GT_SRC_FENTRY, dev, ret ? addr : 0, size, attrs);
	return 0;
}

SEC("fentry/dma_free_attrs")
int BPF_PROG(dma_free_fentry, struct device *dev, size_t size, void *cpu_addr, dma_addr_t handle,
	     unsigned long attrs)
{
	on_free(ctx, GT_SRC_FENTRY, dev, handle, size, attrs);
	return 0;
}

/* ---- kprobe/kretprobe on the same functions ---- */

static __always_inline void stash(struct device *dev, __u64 size, void *ptr, __u32 dir, __u64 attrs)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct dma_pending p = { .dev = dev, .size = size, .ptr = ptr, .dir = dir, .attrs = (__u32)attrs };

	if (bpf_map_update_elem(&dma_pending_calls, &tid, &p, BPF_ANY))
		gt_count_loss(GT_LOSS_PENDING_TABLE);
}

static __always_inline bool unstash(struct dma_pending *out)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct dma_pending *p = bpf_map_lookup_elem(&dma_pending_calls, &tid);

	if (!p)
		return false;
	*out = *p;
	bpf_map_delete_elem(&dma_pending_calls, &tid);
	return true;
}

SEC("kprobe/dma_map_page_attrs")
int BPF_KPROBE(dma_map_page_kprobe, struct device *dev, struct page *page, size_t offset, size_t size, int dir)
{
	/* BPF_KPROBE names five arguments; attrs is the sixth (r9 on x86-64) */
	stash(dev, size, NULL, dir, ctx->r9);
	return 0;
}

SEC("kretprobe/dma_map_page_attrs")
int BPF_KRETPROBE(dma_map_page_kretprobe, dma_addr_t ret)
{
	struct dma_pending p;

	if (unstash(&p))
		on_map_page(ctx, GT_SRC_KPROBE, p.dev, 0, ret, p.size, p.dir, p.attrs);
	return 0;
}

SEC("kprobe/dma_unmap_page_attrs")
int BPF_KPROBE(dma_unmap_page_kprobe, struct device *dev, dma_addr_t addr, size_t size, int dir,
	       unsigned long attrs)
{
	on_unmap_page(ctx, GT_SRC_KPROBE, dev, addr, size, dir, attrs);
	return 0;
}

SEC("kprobe/__dma_map_sg_attrs")
int BPF_KPROBE(dma_map_sg_kprobe, struct device *dev, struct scatterlist *sg, int nents, int dir,
	       unsigned long attrs)
{
	stash(dev, 0, sg, dir, attrs);
	return 0;
}

SEC("kretprobe/__dma_map_sg_attrs")
int BPF_KRETPROBE(dma_map_sg_kretprobe, int ret)
{
	struct dma_pending p;

	if (unstash(&p))
		on_map_sg(ctx, GT_SRC_KPROBE, p.dev, p.ptr, ret, p.dir, p.attrs);
	return 0;
}

SEC("kprobe/dma_unmap_sg_attrs")
int BPF_KPROBE(dma_unmap_sg_kprobe, struct device *dev, struct scatterlist *sg, int nents, int dir,
	       unsigned long attrs)
{
	on_unmap_sg(ctx, GT_SRC_KPROBE, dev, sg, nents, dir, attrs);
	return 0;
}

SEC("kprobe/dma_alloc_attrs")
int BPF_KPROBE(dma_alloc_kprobe, struct device *dev, size_t size, dma_addr_t *handle, gfp_t flag,
	       unsigned long attrs)
{
	stash(dev, size, handle, 0, attrs);
	return 0;
}

SEC("kretprobe/dma_alloc_attrs")
int BPF_KRETPROBE(dma_alloc_kretprobe, void *ret)
{
	struct dma_pending p;
	dma_addr_t addr = 0;

	if (!unstash(&p))
		return 0;
	if (ret)
		bpf_probe_read_kernel(&addr, sizeof(addr), p.ptr);
	on_alloc(ctx, GT_SRC_KPROBE, p.dev, ret ? addr : 0, p.size, p.attrs);
	return 0;
}

SEC("kprobe/dma_free_attrs")
int BPF_KPROBE(dma_free_kprobe, struct device *dev, size_t size, void *cpu_addr, dma_addr_t handle,
	       unsigned long attrs)
{
	on_free(ctx, GT_SRC_KPROBE, dev, handle, size, attrs);
	return 0;
}
