// SPDX-License-Identifier: GPL-2.0
/*
 * Cost of gputrace's DMA map handler per event, on a tracepoint that fires on every
 * machine: each getpid() of the benchmark process runs the same inline handler as a real
 * dma:dma_map_phys event (device verdict, record reserve, stack, submit). A DMA tracepoint
 * never fires where there is no IOMMU, so this is how the cost is measured here.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "dma.bpf.h"

char LICENSE[] SEC("license") = "GPL";

const volatile __u32 target_tgid = 0;
__u64 hits = 0;

#define NR_GETPID 39

static __always_inline bool is_target(long id)
{
	return id == NR_GETPID && (bpf_get_current_pid_tgid() >> 32) == target_tgid;
}

/* the floor: a raw tracepoint that only counts */
SEC("raw_tp/sys_enter")
int BPF_PROG(count_only, struct pt_regs *regs, long id)
{
	if (is_target(id))
		__sync_fetch_and_add(&hits, 1);
	return 0;
}

/* gputrace's map handler as it runs for every dma_map_phys event */
SEC("raw_tp/sys_enter")
int BPF_PROG(dma_map_handler, struct pt_regs *regs, long id)
{
	if (is_target(id))
		on_map_page(ctx, GT_SRC_RAW_TP, NULL, 0x1000, 0xfff00000, 4096, 1, 0);
	return 0;
}

/* gputrace's unmap handler: the same record path without the stack capture of map sites */
SEC("raw_tp/sys_enter")
int BPF_PROG(dma_unmap_handler, struct pt_regs *regs, long id)
{
	if (is_target(id))
		on_unmap_page(ctx, GT_SRC_RAW_TP, NULL, 0xfff00000, 4096, 1, 0);
	return 0;
}
