// SPDX-License-Identifier: GPL-2.0
/*
 * Load generator of bench/sustained.sh: drives gputrace's DMA handlers from syscalls of the
 * driver process (no DMA tracepoint fires here), inside a running gputrace's own maps (the
 * driver reuses them by id), so the events take the real live path: the daemon's pairing
 * table, sweep, rings, decoder and engine.
 *
 *   getpid()   maps the next short-lived address of this CPU
 *   getppid()  unmaps the oldest short-lived address of this CPU
 *   gettid()   maps the next long-lived address (held for seconds: promoted)
 *   getuid()   unmaps the oldest long-lived address
 *   getgid()   maps a leak: a child process that exits without unmapping it
 *
 * The device is BENCH_DEV_TRACED, described once by describe_device (a GPU by its class).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dma.bpf.h"
#include "dma_cost.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 driver_tgid = 0;

#define NR_GETPID 39
#define NR_GETPPID 110
#define NR_GETTID 186
#define NR_GETUID 102
#define NR_GETGID 104

#define SHORT_BASE 0x100000000ULL /* + cpu << 28: each CPU its own range */
#define LONG_BASE 0x80000000ULL
#define LEAK_BASE 0x40000000ULL

/* processes whose getgid() maps a leak (the driver adds its children) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} leakers SEC(".maps");

struct seq {
	__u64 maps, unmaps, long_maps, long_unmaps, produced;
};
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct seq);
} seqs SEC(".maps");

__u64 leaks_made = 0;

static __always_inline __u64 short_addr(__u64 n)
{
	return SHORT_BASE + ((__u64)bpf_get_smp_processor_id() << 28) + (n & 0xffff) * 4096;
}

SEC("raw_tp/sys_enter")
int BPF_PROG(drive, struct pt_regs *regs, long id)
{
	void *dev = (void *)BENCH_DEV_TRACED;
	__u32 zero = 0;
	struct seq *q;

	if (id == NR_GETGID) {
		__u32 tgid = bpf_get_current_pid_tgid() >> 32;

		if (bpf_map_lookup_elem(&leakers, &tgid)) {
			__u64 n = __sync_fetch_and_add(&leaks_made, 1);

			on_map_page(ctx, GT_SRC_RAW_TP, dev, 0x1000, LEAK_BASE + n * 4096, 4096, 1, 0);
		}
		return 0;
	}
	if ((id != NR_GETPID && id != NR_GETPPID && id != NR_GETTID && id != NR_GETUID) ||
	    (bpf_get_current_pid_tgid() >> 32) != driver_tgid)
		return 0;
	q = bpf_map_lookup_elem(&seqs, &zero);
	if (!q)
		return 0;
	q->produced++;
	if (id == NR_GETPID)
		on_map_page(ctx, GT_SRC_RAW_TP, dev, 0x1000, short_addr(q->maps++), 4096, 1, 0);
	else if (id == NR_GETPPID)
		on_unmap_page(ctx, GT_SRC_RAW_TP, dev, short_addr(q->unmaps++), 4096, 1, 0);
	else if (id == NR_GETTID)
		on_map_page(ctx, GT_SRC_RAW_TP, dev, 0x1000, LONG_BASE + (q->long_maps++ & 0xfffff) * 4096, 4096, 2, 0);
	else
		on_unmap_page(ctx, GT_SRC_RAW_TP, dev, LONG_BASE + (q->long_unmaps++ & 0xfffff) * 4096, 4096, 2, 0);
	return 0;
}

/* Describes the benchmark's device to the daemon once, as a first event would: a GPU. */
SEC("raw_tp")
int BPF_PROG(describe_device)
{
	__u64 key = BENCH_DEV_TRACED, word;
	struct gt_device_verdict v = { .traced = 1 };
	struct gt_device_event *e;
	__u32 index = gt_device_cache_index(key);

	e = gt_reserve(&gt_ring_critical, sizeof(*e));
	if (!e)
		return 1;
	__builtin_memset(e, 0, sizeof(*e));
	gt_fill_header(&e->hdr, GT_EV_DEVICE, sizeof(*e));
	e->dev = key;
	__builtin_memcpy(e->name, "bench:00:00.0", 14);
	__builtin_memcpy(e->driver, "sustained", 10);
	__builtin_memcpy(e->bus, "pci", 4);
	e->pci_class = 0x030200;
	e->traced = 1;
	gt_submit_critical(e);
	v.slot = gt_device_new_slot(key);
	bpf_map_update_elem(&gt_device_verdicts, &key, &v, BPF_ANY);
	word = gt_device_word(key, &v);
	bpf_map_update_elem(&gt_device_cache, &index, &word, BPF_ANY);
	return 0;
}
