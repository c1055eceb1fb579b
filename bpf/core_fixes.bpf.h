/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Kernel-version quirks, each resolved by CO-RE or weak ksyms at load time (never by
 * comparing version numbers). Each shim names the change that made it necessary.
 */
#ifndef GPUTRACE_BPF_CORE_FIXES_BPF_H
#define GPUTRACE_BPF_CORE_FIXES_BPF_H

#include "common.h"

/* libbpf 1.1 lacks bpf_ksym_exists(); a __weak ksym that the kernel lacks resolves to 0. */
#define gt_ksym_exists(sym) (!!(&(sym)))

/*
 * x86 preempt_count lived in the per-CPU int __preempt_count until 6.2 moved it into
 * struct pcpu_hot ("x86/percpu: Move preempt_count next to current_task"); 6.15 moved it
 * back out when pcpu_hot was dismantled. Both are weak: exactly one resolves.
 */
struct pcpu_hot___gt {
	int preempt_count;
} __attribute__((preserve_access_index));

/*
 * The kernel resolves these per-CPU symbols through kallsyms, which lists per-CPU
 * variables only with CONFIG_KALLSYMS_ALL. Without it the program would not load, so the
 * build also makes a variant without them (GT_NO_PREEMPT_COUNT) that cannot tell interrupt
 * context apart; the loader picks it where kallsyms lacks the symbols.
 */
#ifdef GT_NO_PREEMPT_COUNT
static __always_inline int gt_preempt_count(void)
{
	return 0;
}
#else
extern int __preempt_count __ksym __weak;
extern struct pcpu_hot___gt pcpu_hot __ksym __weak;

static __always_inline int gt_preempt_count(void)
{
	if (gt_ksym_exists(__preempt_count))
		return *(int *)bpf_this_cpu_ptr(&__preempt_count);
	if (gt_ksym_exists(pcpu_hot))
		return ((struct pcpu_hot___gt *)bpf_this_cpu_ptr(&pcpu_hot))->preempt_count;
	return 0;
}
#endif

/* include/linux/preempt.h: serving a softirq, in a hard irq, or in an NMI. */
#define GT_SOFTIRQ_OFFSET (1U << 8)
#define GT_HARDIRQ_MASK (0xfU << 16)
#define GT_NMI_MASK (0xfU << 20)
#define GT_PF_KTHREAD 0x00200000

static __always_inline __u8 gt_current_context(void)
{
	/* a BTF task pointer is read with a plain load; BPF_CORE_READ would be a helper call */
	struct task_struct *task = bpf_get_current_task_btf();
	__u8 ctx = 0;

	if (gt_preempt_count() & (GT_SOFTIRQ_OFFSET | GT_HARDIRQ_MASK | GT_NMI_MASK))
		ctx |= GT_CTX_IRQ;
	if (task->flags & GT_PF_KTHREAD)
		ctx |= GT_CTX_KTHREAD;
	return ctx;
}

/*
 * struct scatterlist has dma_length only with CONFIG_NEED_SG_DMA_LENGTH (x86: always since
 * the IOMMU drivers select it); fall back to length without it.
 */
static __always_inline __u32 gt_sg_dma_len(struct scatterlist *sg)
{
	if (bpf_core_field_exists(sg->dma_length))
		return BPF_CORE_READ(sg, dma_length);
	return BPF_CORE_READ(sg, length);
}

#endif /* GPUTRACE_BPF_CORE_FIXES_BPF_H */
