/* SPDX-License-Identifier: GPL-2.0 */
/*
 * DMA-API handler logic (BPF side only): one inline function per event, shared by every
 * attach flavour in dma.bpf.c and by the cost benchmark in bench/.
 *
 * Every event of a traced device is counted per CPU (gt_dma_counts); a mapping is kept in
 * the pairing table (dma_table.bpf.h) and an unmap closes it there, so only what userspace
 * must judge crosses the ring. A device outside the filter costs one cache lookup. Where
 * pairing is off (gt_dma_pairing), or a device has no counter slot, every event is shipped
 * as GT_EV_DMA_MAP / GT_EV_DMA_UNMAP as before, and userspace counts and pairs it.
 */
#ifndef GPUTRACE_BPF_DMA_BPF_H
#define GPUTRACE_BPF_DMA_BPF_H

#include "core_fixes.bpf.h"
#include "device.bpf.h"
#include "dma.h"
#include "dma_table.bpf.h"
#include "ring.bpf.h"

#define GT_DMA_MAPPING_ERROR (~(__u64)0)
#define GT_SG_MAX_SEGMENTS 128

const volatile bool gt_dma_pairing = true;

/* What a handler knows about one DMA-API call. */
struct gt_dma_call {
	struct device *dev;
	__u64 addr;
	__u64 size;
	__u64 phys;
	__u64 attrs;
	__u32 nents;
	__u32 dir;
	__u8 api;
	__u8 source;
	__u16 slot;
};

/* The unpaired path: the event crosses the ring as it is (GT_EV_DMA_MAP / GT_EV_DMA_UNMAP). */
static __noinline void dma_emit(void *ctx, __u16 kind, const struct gt_dma_call *c)
{
	struct gt_dma_event *e = gt_reserve(&gt_ring_bulk, sizeof(*e));

	if (!e)
		return;
	gt_fill_header(&e->hdr, kind, sizeof(*e));
	e->dev = (__u64)c->dev;
	e->dma_addr = c->addr;
	e->size = c->size;
	e->phys_addr = c->phys;
	e->nents = c->nents;
	e->stack_id = -1;
	if (kind == GT_EV_DMA_MAP) {
		/* only map sites are reported (a leak's evidence); unmap stacks are not needed */
		if (gt_shedding(GT_SHED_STACKS)) {
			gt_count_loss(GT_LOSS_SHED_STACK);
		} else {
			e->stack_id = bpf_get_stackid(ctx, &gt_stacks, 0);
			if (e->stack_id < 0)
				gt_count_loss(GT_LOSS_STACK);
		}
	}
	e->api = c->api;
	e->dir = c->dir;
	e->context = gt_current_context();
	e->source = c->source;
	e->attrs = (__u32)c->attrs;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	gt_submit_bulk(e);
}

/* Ships a mapping at map time instead of keeping it (table full, duplicate, too large). */
static __noinline void dma_ship_now(const struct gt_dma_call *c, __s32 stack_id, __u8 context,
				    __u32 reason)
{
	struct gt_dma_mapping_event *e = gt_reserve(&gt_ring_bulk, sizeof(*e));

	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_DMA_OUTSTANDING, sizeof(*e));
	e->dev = (__u64)c->dev;
	e->dma_addr = c->addr;
	e->size = c->size;
	e->map_ts_ns = e->hdr.ts_ns;
	e->unmap_ts_ns = 0;
	e->nents = c->nents;
	e->stack_id = stack_id;
	e->api = c->api;
	e->dir = c->dir;
	e->context = context;
	e->source = c->source;
	e->reason = reason;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	gt_submit_bulk(e);
}

/* The unpaired unmap of a paired device: GT_EV_DMA_RELEASED (the kernel counted it already). */
static __always_inline void dma_ship_unmap(const struct gt_dma_call *c)
{
	struct gt_dma_event *e = gt_reserve(&gt_ring_bulk, sizeof(*e));

	if (!e)
		return;
	/* read the clock only now: a sweep that claimed this mapping stamped its record earlier */
	gt_fill_header(&e->hdr, GT_EV_DMA_RELEASED, sizeof(*e));
	e->dev = (__u64)c->dev;
	e->dma_addr = c->addr;
	e->size = c->size;
	e->phys_addr = 0;
	e->nents = c->nents;
	e->stack_id = -1;
	e->api = c->api;
	e->dir = c->dir;
	e->context = gt_current_context();
	e->source = c->source;
	e->attrs = (__u32)c->attrs;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	gt_submit_bulk(e);
}

/* Checks a device against the filter: false when its event stops here (filtered, or shipped as is). */
static __always_inline bool dma_paired_device(void *ctx, __u16 kind, struct gt_dma_call *c)
{
	__u64 word = gt_device_lookup(c->dev);

	if (!(word & GT_DEV_TRACED))
		return false;
	c->slot = gt_device_slot(word);
	if (c->slot < GT_DMA_MAX_DEVICES && gt_dma_pairing)
		return true;
	dma_emit(ctx, kind, c);
	return false;
}

/*
 * The slot of this device and address, LIVE or DEAD, if any. Loops stop at their first
 * hit: the verifier then walks one path per slot instead of every combination of them.
 */
static __always_inline struct gt_dma_slot *dma_find_slot(struct gt_dma_bucket *b, const struct gt_dma_call *c)
{
#pragma unroll
	for (int i = 0; i < GT_DMA_BUCKET_SLOTS; i++) {
		__u32 state = b->slot[i].state;

		if (b->slot[i].addr == c->addr && b->slot[i].dev == c->slot &&
		    (state == GT_SLOT_LIVE || state == GT_SLOT_DEAD))
			return &b->slot[i];
	}
	return NULL;
}

/* The first slot a new mapping can take: empty, or a tombstone of another address. */
static __always_inline struct gt_dma_slot *dma_free_slot(struct gt_dma_bucket *b)
{
#pragma unroll
	for (int i = 0; i < GT_DMA_BUCKET_SLOTS; i++) {
		__u32 state = b->slot[i].state;

		if (state == GT_SLOT_EMPTY || state == GT_SLOT_DEAD)
			return &b->slot[i];
	}
	return NULL;
}

/* A mapping of a device already mapped there (no IOMMU): both go to userspace, which pairs them. */
static __noinline void dma_duplicate(struct gt_dma_slot *s, const struct gt_dma_call *c, __s32 stack, __u8 context)
{
	__u64 now_ns = bpf_ktime_get_ns();

	gt_dma_promote(s, GT_SHIP_DUPLICATE, now_ns, bpf_jiffies64());
	dma_ship_now(c, stack, context, GT_SHIP_DUPLICATE);
}

/*
 * Keeps a mapping in the table. Global (not static): the verifier checks it once, on its
 * own, instead of once for every state its caller can be in (an sg walk has many).
 */
__noinline int gt_dma_keep(const struct gt_dma_call *c, __u32 tgid, __s32 stack, __u32 context)
{
	struct gt_dma_bucket *b;
	struct gt_dma_slot *s;
	__u32 expected;

	if (!c)
		return 0;
	if (c->size >> 32) {
		dma_ship_now(c, stack, context, GT_SHIP_LARGE);
		return 0;
	}
	b = gt_dma_bucket(c->slot, c->addr);
	if (!b)
		return 0;
	/* its own address's tombstone first: a strict-mode IOMMU hands an IOVA out again at once */
	s = dma_find_slot(b, c);
	if (s && s->state == GT_SLOT_LIVE) {
		dma_duplicate(s, c, stack, context);
		return 0;
	}
	if (!s)
		s = dma_free_slot(b);
	expected = s ? s->state : GT_SLOT_EMPTY;
	if (!s || (expected != GT_SLOT_EMPTY && expected != GT_SLOT_DEAD) ||
	    __sync_val_compare_and_swap(&s->state, expected, GT_SLOT_BUSY) != expected) {
		gt_count_loss(GT_LOSS_DMA_TABLE_FULL);
		dma_ship_now(c, stack, context, GT_SHIP_TABLE_FULL);
		return 0;
	}
	s->addr = c->addr;
	s->map_jiffies = bpf_jiffies64();
	s->size = c->size;
	s->pid = tgid;
	s->stack_id = stack;
	s->nents = c->nents;
	s->dev = c->slot;
	s->api = c->api;
	s->dir = c->dir;
	s->context = context;
	s->source = c->source;
	/* publish: x86 keeps stores in order, and only the claimer writes a BUSY slot */
	s->state = GT_SLOT_LIVE;
	return 0;
}

/* Whether an unmap disagrees with its mapping, by the rule userspace applies (mappings.cc). */
static __always_inline bool dma_mismatch(const struct gt_dma_slot *s, const struct gt_dma_call *c)
{
	bool size_differs = s->size != c->size && !(s->api == GT_DMA_SG && c->size == 0);

	return s->api != c->api || size_differs || (s->api != GT_DMA_COHERENT && s->dir != c->dir);
}

/* Rare paths of an unmap that found its address: a mismatch, or a tombstone (double unmap). */
static __noinline void dma_unmap_evidence(struct gt_dma_slot *s, const struct gt_dma_call *c, bool live)
{
	__u64 now_ns = bpf_ktime_get_ns(), now_jiffies = bpf_jiffies64();

	if (live) { /* the mapping goes to userspace, which reports the mismatch with both sides */
		gt_dma_promote(s, GT_SHIP_MISMATCH, now_ns, now_jiffies);
		return;
	}
	if (__sync_val_compare_and_swap(&s->state, GT_SLOT_DEAD, GT_SLOT_BUSY) != GT_SLOT_DEAD)
		return;
	if (!gt_dma_ship_slot(s, GT_EV_DMA_CLOSED, 0, now_ns, now_jiffies))
		gt_count_loss(GT_LOSS_RING_FULL_BULK);
	__sync_lock_test_and_set(&s->state, GT_SLOT_DEAD); /* kept: a third unmap is evidence too */
}

/* Closes an unmap's mapping in the table, or ships the unmap. Global, as gt_dma_keep. */
__noinline int gt_dma_close(const struct gt_dma_call *c)
{
	struct gt_dma_bucket *b;
	struct gt_dma_slot *s;

	if (!c)
		return 0;
	b = gt_dma_bucket(c->slot, c->addr);
	if (!b)
		return 0;
	s = dma_find_slot(b, c);
	if (s && s->state == GT_SLOT_LIVE) {
		if (dma_mismatch(s, c)) {
			dma_unmap_evidence(s, c, true);
		} else {
			s->unmap_jiffies = bpf_jiffies64(); /* before the state: only read when DEAD */
			if (__sync_val_compare_and_swap(&s->state, GT_SLOT_LIVE, GT_SLOT_DEAD) == GT_SLOT_LIVE)
				return 0; /* a short-lived pair: nothing crosses the ring */
			/* the sweep shipped it a moment ago: userspace needs this unmap */
		}
	} else if (s) {
		dma_unmap_evidence(s, c, false); /* a tombstone: the address was unmapped before */
	}
	dma_ship_unmap(c);
	return 0;
}

static __always_inline void dma_map_event(void *ctx, struct gt_dma_call *c)
{
	if (!dma_paired_device(ctx, GT_EV_DMA_MAP, c))
		return;
	__u32 tgid, context;

	gt_dma_count(c->slot, c->api, false, c->size);
	tgid = bpf_get_current_pid_tgid() >> 32;
	context = gt_current_context();
	gt_dma_keep(c, tgid, gt_site_stack(ctx, gt_site_key(tgid, c->slot, c->api, c->dir, context, c->attrs, c->source)),
		    context);
}

static __always_inline void dma_unmap_event(void *ctx, struct gt_dma_call *c)
{
	if (!dma_paired_device(ctx, GT_EV_DMA_UNMAP, c))
		return;
	gt_dma_count(c->slot, c->api, true, c->size);
	gt_dma_close(c);
}

struct gt_sg_walk {
	struct scatterlist *sg;
	__u64 total;
	__u64 first_addr;
	int count;
	int seen;
};

/* bpf_loop callback, one segment: verified once, where a 128-step loop was 128 times. */
static long gt_sg_step(__u32 i, void *data)
{
	struct gt_sg_walk *w = data;
	/* a local: BPF_CORE_READ(w->sg, ...) would relocate the field of our own struct too */
	struct scatterlist *sg = w->sg;
	unsigned long link;

	if (!sg || w->seen >= w->count)
		return 1;
	link = BPF_CORE_READ(sg, page_link);
	if (link & 0x01) { /* SG_CHAIN: this slot points at the next array */
		w->sg = (struct scatterlist *)(link & ~0x03UL);
		return 0;
	}
	if (w->seen == 0)
		w->first_addr = BPF_CORE_READ(sg, dma_address);
	w->total += gt_sg_dma_len(sg);
	w->seen++;
	if (link & 0x02) /* SG_END */
		return 1;
	w->sg = sg + 1;
	return 0;
}

/* First segment's bus address and the total mapped length of the first `count` segments. */
static __always_inline __u64 sg_walk(struct scatterlist *sg, int count, __u64 *first_addr)
{
	struct gt_sg_walk w = { .sg = sg, .count = count };

	bpf_loop(GT_SG_MAX_SEGMENTS, gt_sg_step, &w, 0);
	*first_addr = w.first_addr;
	return w.total;
}

/* ---- handler logic ---- */

static __always_inline void on_map_page(void *ctx, __u8 src, struct device *dev, __u64 phys, __u64 addr,
					__u64 size, __u32 dir, __u64 attrs)
{
	struct gt_dma_call c = { .dev = dev, .addr = addr, .size = size, .phys = phys, .attrs = attrs,
				 .nents = 1, .dir = dir, .api = GT_DMA_PAGE, .source = src };

	if (addr == GT_DMA_MAPPING_ERROR)
		return;
	dma_map_event(ctx, &c);
}

static __always_inline void on_unmap_page(void *ctx, __u8 src, struct device *dev, __u64 addr, __u64 size,
					  __u32 dir, __u64 attrs)
{
	struct gt_dma_call c = { .dev = dev, .addr = addr, .size = size, .attrs = attrs,
				 .nents = 1, .dir = dir, .api = GT_DMA_PAGE, .source = src };

	dma_unmap_event(ctx, &c);
}

static __always_inline void on_map_sg(void *ctx, __u8 src, struct device *dev, struct scatterlist *sg,
				      int mapped, __u32 dir, __u64 attrs)
{
	struct gt_dma_call c = { .dev = dev, .attrs = attrs, .nents = mapped, .dir = dir,
				 .api = GT_DMA_SG, .source = src };

	if (mapped <= 0) /* failed mapping: nothing to track */
		return;
	c.size = sg_walk(sg, mapped, &c.addr);
	dma_map_event(ctx, &c);
}

static __always_inline void on_unmap_sg(void *ctx, __u8 src, struct device *dev, struct scatterlist *sg,
					int nents, __u32 dir, __u64 attrs)
{
	struct gt_dma_call c = { .dev = dev, .attrs = attrs, .nents = nents, .dir = dir,
				 .api = GT_DMA_SG, .source = src };

	c.size = sg_walk(sg, nents, &c.addr);
	dma_unmap_event(ctx, &c);
}

static __always_inline void on_alloc(void *ctx, __u8 src, struct device *dev, __u64 addr, __u64 size,
				     __u64 attrs)
{
	struct gt_dma_call c = { .dev = dev, .addr = addr, .size = size, .attrs = attrs,
				 .nents = 1, .dir = 0 /* BIDIRECTIONAL */, .api = GT_DMA_COHERENT, .source = src };

	if (addr == GT_DMA_MAPPING_ERROR || !addr)
		return;
	dma_map_event(ctx, &c);
}

static __always_inline void on_free(void *ctx, __u8 src, struct device *dev, __u64 addr, __u64 size,
				    __u64 attrs)
{
	struct gt_dma_call c = { .dev = dev, .addr = addr, .size = size, .attrs = attrs,
				 .nents = 1, .dir = 0, .api = GT_DMA_COHERENT, .source = src };

	dma_unmap_event(ctx, &c);
}

#endif /* GPUTRACE_BPF_DMA_BPF_H */
