// SPDX-License-Identifier: GPL-2.0
/*
 * The pairing table's sweep (bpf/dma_table.bpf.h), run by the daemon every sweep period
 * with BPF_PROG_TEST_RUN (userspace/session/dma_pairing.cc): promotes the mappings that
 * outlived the promotion threshold (they go to userspace as GT_EV_DMA_OUTSTANDING), frees
 * tombstones past their time, measures the kernel tick, and, when tracing stops, ships
 * every mapping still in the table. Never attached to a hook.
 *
 * ctx args: [0] enum gt_sweep_mode, [1] promotion age in ns, [2] tombstone age in ns.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dma_table.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* the last sweep's outcome, read by userspace */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gt_sweep);
} sweep_result SEC(".maps");

static __always_inline __u64 snap_tick(__u64 measured)
{
	/* the CONFIG_HZ values there are: 100, 250, 300, 1000 */
	if (measured < 2000000)
		return 1000000;
	if (measured < 3666666)
		return 3333333;
	if (measured < 7000000)
		return 4000000;
	return 10000000;
}

static __always_inline void measure_tick(__u64 now_ns, __u64 now_jiffies)
{
	__u32 zero = 0;
	struct gt_dma_clock *c = bpf_map_lookup_elem(&gt_dma_clock, &zero);

	if (!c || c->tick_ns)
		return;
	if (!c->first_ns) {
		c->first_ns = now_ns;
		c->first_jiffies = now_jiffies;
	} else if (now_ns - c->first_ns >= 200000000 && now_jiffies > c->first_jiffies) {
		c->tick_ns = snap_tick((now_ns - c->first_ns) / (now_jiffies - c->first_jiffies));
	}
}

static __always_inline __u64 to_jiffies(__u64 ns)
{
	__u32 zero = 0;
	struct gt_dma_clock *c = bpf_map_lookup_elem(&gt_dma_clock, &zero);
	__u64 tick = c && c->tick_ns ? c->tick_ns : GT_DEFAULT_TICK_NS;

	return (ns + tick - 1) / tick;
}

SEC("raw_tp")
int BPF_PROG(dma_sweep, __u64 mode, __u64 promote_after_ns, __u64 tombstone_ns)
{
	struct gt_sweep w = {};
	__u32 zero = 0;

	w.now_ns = bpf_ktime_get_ns();
	w.now_jiffies = bpf_jiffies64();
	measure_tick(w.now_ns, w.now_jiffies);
	w.mode = mode;
	w.promote_jiffies = to_jiffies(promote_after_ns);
	w.tombstone_jiffies = to_jiffies(tombstone_ns);
	gt_sweep_table(&w);
	bpf_map_update_elem(&sweep_result, &zero, &w, BPF_ANY);
	return 0;
}
