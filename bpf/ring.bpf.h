/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The maps every gputrace BPF object shares (BPF side only), and the helpers that write
 * records into them. The loader creates each map once and hands the same fd to every
 * object (bpf_map__reuse_fd) so all concerns feed one consumer.
 *
 *  gt_ring_bulk      frequent events (DMA, IOMMU, GC). Submitted without wakeup: the
 *                    consumer drains on a short timer, since a wakeup costs more than the event.
 *  gt_ring_critical  rare events that must not starve behind bulk traffic (exit, fault,
 *                    unbind, device identity). Submitted with a wakeup.
 *  gt_losses         per-CPU loss counters indexed by enum gt_loss.
 *  gt_shed           the load-shedding switches the daemon sets (enum gt_shed_flags).
 */
#ifndef GPUTRACE_BPF_RING_BPF_H
#define GPUTRACE_BPF_RING_BPF_H

#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} gt_ring_bulk SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} gt_ring_critical SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GT_LOSS_BPF_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gt_losses SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} gt_shed SEC(".maps");

/* Whether the daemon has asked to shed `what` (enum gt_shed_flags). */
static __always_inline bool gt_shedding(__u32 what)
{
	__u32 zero = 0;
	__u32 *flags = bpf_map_lookup_elem(&gt_shed, &zero);

	return flags && (*flags & what);
}

static __always_inline void gt_count_loss(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&gt_losses, &which);

	if (c)
		(*c)++;
}

/* Reserves a record of `size` bytes; counts the loss when the ring is full. */
static __always_inline void *gt_reserve(void *ring, __u32 size)
{
	void *e = bpf_ringbuf_reserve(ring, size, 0);

	if (!e)
		gt_count_loss(ring == (void *)&gt_ring_critical ? GT_LOSS_RING_FULL_CRITICAL
								: GT_LOSS_RING_FULL_BULK);
	return e;
}

static __always_inline void gt_fill_header(struct gt_event_header *h, __u16 kind, __u32 size)
{
	__u64 id = bpf_get_current_pid_tgid();

	h->kind = kind;
	h->cpu = (__u16)bpf_get_smp_processor_id();
	h->size = size;
	h->ts_ns = bpf_ktime_get_ns();
	h->pid = id >> 32;
	h->tid = (__u32)id;
}

static __always_inline void gt_submit_bulk(void *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline void gt_submit_critical(void *e)
{
	bpf_ringbuf_submit(e, 0);
}

#endif /* GPUTRACE_BPF_RING_BPF_H */
