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

#include "dma.bpf.h"

char LICENSE[] SEC("license") = "GPL";

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
