/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The in-kernel table of young DMA-API mappings (BPF side only): pairing in the kernel.
 *
 * A map handler puts each mapping of a traced device into this table; its unmap handler
 * finds it and closes it there, so a short-lived pair never crosses the ring. A mapping
 * that outlives the promotion threshold is shipped (GT_EV_DMA_OUTSTANDING) by the
 * periodic sweep (bpf/dma_sweep.bpf.c), by its driver's unbind, or when tracing stops,
 * and leaves the table: its unmap then finds nothing here and is shipped as well
 * (GT_EV_DMA_RELEASED), as is an unmap that matches nothing at all.
 *
 * The table is an array of buckets (an array lookup is inlined by the verifier; a hash
 * map's update and delete cost a bucket lock and an allocation each). A mapping hashes to
 * one bucket of GT_DMA_BUCKET_SLOTS slots and takes a free one; a full bucket ships the
 * mapping at once (GT_SHIP_TABLE_FULL, counted). A slot's state changes only through
 * atomic instructions, so a handler and the sweep racing for one slot never both act:
 *
 *   EMPTY/DEAD --map claims--> BUSY --filled--> LIVE --unmap--> DEAD (a tombstone)
 *   LIVE --sweep/unbind/flush/mismatch claims--> BUSY --shipped--> EMPTY
 *   DEAD --expired by the sweep--> EMPTY
 *
 * A tombstone keeps a closed pair for a while so that a second unmap of the same address
 * is recognised (a double unmap ships the pair as GT_EV_DMA_CLOSED evidence). A map reuses
 * a tombstone of its own address first (strict-mode IOMMUs hand an IOVA out again at once),
 * else an empty slot, else any tombstone: tombstones never make the table overflow.
 *
 * Times in slots are jiffies (bpf_jiffies64 is a load; bpf_ktime_get_ns costs ~45 ns in a
 * VM), converted to CLOCK_MONOTONIC ns, rounded down to a tick, when shipped.
 */
#ifndef GPUTRACE_BPF_DMA_TABLE_BPF_H
#define GPUTRACE_BPF_DMA_TABLE_BPF_H

#include "core_fixes.bpf.h"
#include "device.bpf.h"
#include "dma.h"
#include "ring.bpf.h"

#define GT_DMA_TABLE_BITS 13 /* 8192 buckets x 8 slots x 48 bytes = 3 MiB */
#define GT_DMA_TABLE_BUCKETS (1U << GT_DMA_TABLE_BITS)
#define GT_DMA_BUCKET_SLOTS 8
#define GT_DMA_SITE_CACHE 4096

enum gt_slot_state {
	GT_SLOT_EMPTY = 0,
	GT_SLOT_BUSY = 1, /* claimed: being filled, or being shipped */
	GT_SLOT_LIVE = 2,
	GT_SLOT_DEAD = 3,
};

struct gt_dma_slot {
	__u64 addr;
	__u64 map_jiffies;
	__u32 state;         /* enum gt_slot_state */
	__u32 size;          /* mappings of 4 GiB or more are shipped instead (GT_SHIP_LARGE) */
	__u32 pid;           /* tgid of the mapping task */
	__s32 stack_id;
	__u32 nents;
	__u32 unmap_jiffies; /* low 32 bits; meaningful when DEAD */
	__u16 dev;           /* device slot (bpf/device.bpf.h) */
	__u8 api;
	__u8 dir;
	__u8 context;
	__u8 source;
	__u16 pad;
};

struct gt_dma_bucket {
	struct gt_dma_slot slot[GT_DMA_BUCKET_SLOTS];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GT_DMA_TABLE_BUCKETS);
	__type(key, __u32);
	__type(value, struct gt_dma_bucket);
} gt_dma_table SEC(".maps");

/* per device slot, per CPU: exact counts of every event of a traced device */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GT_DMA_MAX_DEVICES);
	__type(key, __u32);
	__type(value, struct gt_dma_counts);
} gt_dma_counts SEC(".maps");

/*
 * Mapping sites -> kernel stack id, direct-mapped. One word per entry: the site key's top
 * 40 bits and the stack id + 2 (0: empty; 1: the stack could not be taken) in the low 24.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GT_DMA_SITE_CACHE);
	__type(key, __u32);
	__type(value, __u64);
} gt_dma_sites SEC(".maps");

/* Kernel stacks of mapping sites, deduplicated by the kernel. */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 8192);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 32 * sizeof(__u64));
} gt_stacks SEC(".maps");

/* The tick length, measured by the sweep against bpf_ktime_get_ns (CONFIG_HZ is not readable). */
struct gt_dma_clock {
	__u64 tick_ns; /* 0 until measured */
	__u64 first_ns;
	__u64 first_jiffies;
};
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gt_dma_clock);
} gt_dma_clock SEC(".maps");

#define GT_DEFAULT_TICK_NS 4000000ULL /* HZ=250, Debian's, until the sweep has measured it */

/* ---- counting ---- */

static __always_inline void gt_dma_count(__u16 slot, __u8 api, bool unmap, __u64 size)
{
	__u32 key = slot, i = api - 1;
	struct gt_dma_counts *c = bpf_map_lookup_elem(&gt_dma_counts, &key);

	/* one writer per counter and CPU (a program never nests with itself): no atomics */
	if (!c || i > 2)
		return;
	if (unmap) {
		c->unmaps[i]++;
		c->unmap_bytes[i] += size;
	} else {
		c->maps[i]++;
		c->map_bytes[i] += size;
	}
}

/* ---- time ---- */

/* A jiffies value as CLOCK_MONOTONIC ns, rounded down to the tick it started in. */
static __always_inline __u64 gt_jiffies_to_ns(__u64 j, __u64 now_ns, __u64 now_jiffies)
{
	__u32 zero = 0;
	struct gt_dma_clock *c = bpf_map_lookup_elem(&gt_dma_clock, &zero);
	__u64 tick = c && c->tick_ns ? c->tick_ns : GT_DEFAULT_TICK_NS;
	__u64 back = (now_jiffies >= j ? now_jiffies - j + 1 : 1) * tick;

	return back < now_ns ? now_ns - back : 0;
}

/* ---- stacks, once per mapping site ---- */

/*
 * A mapping site's key, from what the handler has at hand for free: the process (none in
 * interrupt context, where the task is whoever was interrupted), device, API, direction,
 * context, attributes and hook. A stack is taken the first time a key is seen; sites of
 * one process that differ in none of these share the first one's stack.
 */
static __always_inline __u64 gt_site_key(__u32 tgid, __u16 slot, __u8 api, __u32 dir, __u8 context, __u64 attrs,
					 __u8 source)
{
	__u64 k = ((__u64)(context & GT_CTX_IRQ ? 0 : tgid) << 32) | ((__u64)slot << 16) | ((__u64)api << 12) |
		  ((__u64)(dir & 3) << 10) | ((__u64)(context & 3) << 8) | source;

	k ^= attrs * 0x9E3779B97F4A7C15ULL;
	k *= 0xff51afd7ed558ccdULL;
	return k ^ (k >> 33);
}

static __always_inline __s32 gt_site_stack(void *ctx, __u64 site)
{
	__u32 index = site & (GT_DMA_SITE_CACHE - 1);
	__u64 *e = bpf_map_lookup_elem(&gt_dma_sites, &index), word;
	long id;

	if (!e)
		return -1;
	word = *e;
	if (word && (word >> 24) == (site >> 24))
		return (__s32)(word & 0xffffff) - 2;
	/* shedding load: no stack, and nothing cached, so the site gets one once it is over */
	if (gt_shedding(GT_SHED_STACKS)) {
		gt_count_loss(GT_LOSS_SHED_STACK);
		return -1;
	}
	id = bpf_get_stackid(ctx, &gt_stacks, 0);
	if (id < 0) {
		gt_count_loss(GT_LOSS_STACK);
		id = -1;
	}
	*e = (site & ~0xffffffULL) | (__u64)(id + 2);
	return id;
}

/* ---- shipping ---- */

static __always_inline __u32 gt_dma_bucket_index(__u16 slot, __u64 addr)
{
	return ((addr ^ ((__u64)slot << 56)) * 0x9E3779B97F4A7C15ULL) >> (64 - GT_DMA_TABLE_BITS);
}

static __always_inline struct gt_dma_bucket *gt_dma_bucket(__u16 slot, __u64 addr)
{
	__u32 index = gt_dma_bucket_index(slot, addr);

	return bpf_map_lookup_elem(&gt_dma_table, &index);
}

static __always_inline __u64 gt_slot_device(__u16 slot)
{
	__u32 index = slot + 1;
	__u64 *dev = bpf_map_lookup_elem(&gt_device_slots, &index);

	return dev ? *dev : 0;
}

/*
 * Ships the mapping of a slot the caller has claimed (BUSY), stamped now_ns: the caller
 * reads the clock before claiming, so an unmap that loses the race to the claim is always
 * stamped later than this record. Returns false when the ring is full.
 */
static __noinline bool gt_dma_ship_slot(struct gt_dma_slot *s, __u32 kind, __u32 reason, __u64 now_ns,
					__u64 now_jiffies)
{
	struct gt_dma_mapping_event *e = gt_reserve(&gt_ring_bulk, sizeof(*e));

	if (!e)
		return false;
	e->hdr.kind = kind;
	e->hdr.cpu = (__u16)bpf_get_smp_processor_id();
	e->hdr.size = sizeof(*e);
	e->hdr.ts_ns = now_ns;
	e->hdr.pid = s->pid;
	e->hdr.tid = s->pid;
	e->dev = gt_slot_device(s->dev);
	e->dma_addr = s->addr;
	e->size = s->size;
	e->map_ts_ns = gt_jiffies_to_ns(s->map_jiffies, now_ns, now_jiffies);
	e->unmap_ts_ns = 0;
	if (kind == GT_EV_DMA_CLOSED) /* a tombstone keeps the low 32 bits of its unmap's jiffies */
		e->unmap_ts_ns = gt_jiffies_to_ns(now_jiffies - (__u32)((__u32)now_jiffies - s->unmap_jiffies), now_ns,
						  now_jiffies);
	e->nents = s->nents;
	e->stack_id = s->stack_id;
	e->api = s->api;
	e->dir = s->dir;
	e->context = s->context;
	e->source = s->source;
	e->reason = reason;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memset(e->comm, 0, sizeof(e->comm));
	gt_submit_bulk(e);
	return true;
}

/* Claims a LIVE slot and ships it; the slot is empty afterwards. False when not shipped. */
static __always_inline bool gt_dma_promote(struct gt_dma_slot *s, __u32 reason, __u64 now_ns, __u64 now_jiffies)
{
	if (__sync_val_compare_and_swap(&s->state, GT_SLOT_LIVE, GT_SLOT_BUSY) != GT_SLOT_LIVE)
		return false; /* an unmap closed it, or someone else shipped it */
	if (!gt_dma_ship_slot(s, GT_EV_DMA_OUTSTANDING, reason, now_ns, now_jiffies)) {
		__sync_lock_test_and_set(&s->state, GT_SLOT_LIVE);
		gt_count_loss(GT_LOSS_DMA_PROMOTE_DEFERRED);
		return false;
	}
	__sync_lock_test_and_set(&s->state, GT_SLOT_EMPTY);
	return true;
}

/* ---- the sweep: periodic promotion, unbind, flush ---- */

enum gt_sweep_mode {
	GT_SWEEP_PERIODIC = 0, /* promote what outlived the threshold, expire old tombstones */
	GT_SWEEP_DEVICE = 1,   /* promote every mapping of one device slot (its driver unbound) */
	GT_SWEEP_ALL = 2,      /* promote everything (tracing stops) */
};

struct gt_sweep {
	__u64 now_ns;
	__u64 now_jiffies;
	__u64 promote_jiffies; /* age at which a mapping is promoted */
	__u32 tombstone_jiffies;
	__u32 mode;
	__u32 dev;             /* GT_SWEEP_DEVICE: the device slot */
	__u32 promoted;
	__u32 expired;
	__u32 deferred;        /* the ring was full: the rest waits for the next sweep */
	__u32 live;            /* young mappings left in the table */
	__u32 dead;
};

static __always_inline void gt_sweep_slot(struct gt_dma_slot *s, struct gt_sweep *w)
{
	__u32 state = s->state, reason;
	bool due;

	if (state == GT_SLOT_DEAD) {
		if (w->mode == GT_SWEEP_PERIODIC &&
		    (__u32)((__u32)w->now_jiffies - s->unmap_jiffies) >= w->tombstone_jiffies &&
		    __sync_val_compare_and_swap(&s->state, GT_SLOT_DEAD, GT_SLOT_EMPTY) == GT_SLOT_DEAD)
			w->expired++;
		else
			w->dead++;
		return;
	}
	if (state != GT_SLOT_LIVE)
		return;
	if (w->mode == GT_SWEEP_PERIODIC) {
		due = w->now_jiffies - s->map_jiffies >= w->promote_jiffies;
		reason = GT_SHIP_PROMOTED;
	} else if (w->mode == GT_SWEEP_DEVICE) {
		due = s->dev == w->dev;
		reason = GT_SHIP_UNBIND;
	} else {
		due = true;
		reason = GT_SHIP_FLUSH;
	}
	if (!due || w->deferred) {
		w->live++;
		return;
	}
	if (gt_dma_promote(s, reason, w->now_ns, w->now_jiffies))
		w->promoted++;
	else if (s->state == GT_SLOT_LIVE)
		w->deferred++;
}

/*
 * bpf_loop callback: one slot. One slot per call (not one bucket) keeps the verifier's
 * work to a single slot's paths: it checks a callback once, however often it runs.
 */
static long gt_sweep_one(__u32 index, void *data)
{
	struct gt_sweep *w = data;
	__u32 bucket = index / GT_DMA_BUCKET_SLOTS;
	struct gt_dma_bucket *b = bpf_map_lookup_elem(&gt_dma_table, &bucket);

	if (!b)
		return 1;
	gt_sweep_slot(&b->slot[index & (GT_DMA_BUCKET_SLOTS - 1)], w);
	return w->deferred ? 1 : 0; /* the ring is full: the rest waits for the next sweep */
}

static __always_inline void gt_sweep_table(struct gt_sweep *w)
{
	bpf_loop(GT_DMA_TABLE_BUCKETS * GT_DMA_BUCKET_SLOTS, gt_sweep_one, w, 0);
}

#endif /* GPUTRACE_BPF_DMA_TABLE_BPF_H */
