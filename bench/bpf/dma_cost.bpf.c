// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of gputrace's DMA handlers per event, on tracepoints that fire on every machine:
 * each getpid() of the benchmark process runs the same inline map handler as a real
 * dma:dma_map_phys event, each getppid() the unmap handler (device verdict, counters,
 * pairing table, stack of a new site). A DMA tracepoint never fires where there is no
 * IOMMU, so this is how the cost is measured here. bench/bpf_cost.cc primes the device
 * verdicts: BENCH_DEV_TRACED is traced (counter slot 0), BENCH_DEV_FILTERED is not.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dma.bpf.h"
#include "dma_cost.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
__u64 hits = 0;
__u64 maps_made = 0;
__u64 unmaps_made = 0;

#define NR_GETPID 39
#define NR_GETPPID 110

static __always_inline bool is_target(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

/* the bus address of the n-th mapping: 4096 pages, reused as a strict-mode IOMMU does */
static __always_inline __u64 bench_addr(__u64 n)
{
	return BENCH_IOVA_BASE + (n & (BENCH_IOVAS - 1)) * 4096;
}

/* the floor: a raw tracepoint that only counts */
SEC("raw_tp/sys_enter")
int BPF_PROG(count_only, struct pt_regs *regs, long id)
{
	if ((id == NR_GETPID || id == NR_GETPPID) && is_target())
		__sync_fetch_and_add(&hits, 1);
	return 0;
}

/* gputrace's handlers: getpid() maps the next address, getppid() unmaps the oldest one */
SEC("raw_tp/sys_enter")
int BPF_PROG(dma_handlers, struct pt_regs *regs, long id)
{
	if (id == NR_GETPID && is_target())
		on_map_page(ctx, GT_SRC_RAW_TP, (void *)BENCH_DEV_TRACED, 0x1000, bench_addr(maps_made++), 4096, 1, 0);
	else if (id == NR_GETPPID && is_target())
		on_unmap_page(ctx, GT_SRC_RAW_TP, (void *)BENCH_DEV_TRACED, bench_addr(unmaps_made++), 4096, 1, 0);
	return 0;
}

/* a map of a device outside the filter (an NVMe or NIC under the default GPU-only filter) */
SEC("raw_tp/sys_enter")
int BPF_PROG(dma_filtered, struct pt_regs *regs, long id)
{
	if (id == NR_GETPID && is_target())
		on_map_page(ctx, GT_SRC_RAW_TP, (void *)BENCH_DEV_FILTERED, 0x1000, bench_addr(maps_made++), 4096, 1, 0);
	return 0;
}
