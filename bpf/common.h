/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * gputrace wire format: the record header every event carries, and the loss counters.
 *
 * This header (and every plain .h in bpf/) compiles under clang -target bpf and under g++:
 * fixed-width fields, explicit padding, a size check on every struct. The same bytes travel
 * through the BPF ring buffers, the capture files and the CUPTI channel.
 */
#ifndef GPUTRACE_BPF_COMMON_H
#define GPUTRACE_BPF_COMMON_H

#ifndef __bpf__
#include <linux/types.h>
#endif

#ifdef __cplusplus
#define GT_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define GT_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

#define GT_WIRE_VERSION 1
#define GT_COMM_LEN 16
#define GT_DEVNAME_LEN 32
#define GT_DRIVER_LEN 24

#include "kinds.h"

/* Every record starts with this header; size covers header + payload. */
struct gt_event_header {
	__u16 kind;  /* enum gt_event_kind */
	__u16 cpu;
	__u32 size;
	__u64 ts_ns; /* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */
	__u32 pid;   /* tgid */
	__u32 tid;
};
GT_STATIC_ASSERT(sizeof(struct gt_event_header) == 24, "gt_event_header layout");

/*
 * Loss counters kept by BPF in a per-CPU array (map gt_losses), indexed by enum gt_loss.
 * X(NAME, index, counter_name, "what it counts"): the daemon's loss table
 * (userspace/model/loss_counters.h) takes names and descriptions from here.
 */
#define GT_BPF_LOSSES(X)                                                                      \
	X(RING_FULL_BULK, 0, ring_full_bulk,                                                   \
	  "events dropped because the bulk BPF ring buffer was full (DMA, IOMMU, GC)")          \
	X(RING_FULL_CRITICAL, 1, ring_full_critical,                                           \
	  "events dropped because the critical BPF ring buffer was full (exit, fault, unbind, device)") \
	X(STACK, 2, stack_not_captured, "mapping stacks the stack map could not take")         \
	X(DEVICE_TABLE, 3, device_table_full,                                                  \
	  "devices treated as filtered out because the device verdict table was full")          \
	X(PENDING_TABLE, 4, pending_table_full,                                                \
	  "maps not seen because the entry/return pairing table was full")                      \
	/* not losses: work that fell back to a costlier path, counted so it is never silent */ \
	X(DMA_TABLE_FULL, 5, dma_pairing_table_full,                                           \
	  "mappings shipped at map time (paired in userspace) because their bucket of the kernel's pairing table was full") \
	X(DMA_PROMOTE_DEFERRED, 6, dma_promotion_deferred,                                     \
	  "promotions of long-lived mappings put off to the next sweep because the bulk ring was full") \
	X(DMA_DEVICE_SLOTS, 7, dma_device_slots_full,                                          \
	  "events of traced devices beyond the 256 counter slots, all shipped to userspace")     \
	/* work given up while the host was under pressure (load shedding) */                  \
	X(SHED_STACK, 8, stacks_shed,                                                          \
	  "kernel stacks of new mapping sites not taken while shedding load (their leaks have no stack)") \
	X(SHED_GC_BEGIN, 9, gc_markers_shed,                                                   \
	  "GC pause-begin markers not sent while shedding load (finished pauses are all recorded)")

#define GT_LOSS_ENUMERATOR(NAME, INDEX, ...) GT_LOSS_##NAME = INDEX,

enum gt_loss {
	GT_BPF_LOSSES(GT_LOSS_ENUMERATOR)
	GT_LOSS_BPF_MAX = 16, /* size of the map: room to grow (losses travel by name) */
};

/*
 * Load shedding (userspace/session/load_shedder.h): the switches the daemon sets in the
 * shared map gt_shed while the host is under pressure, and why it set them.
 */
enum gt_shed_flags {
	GT_SHED_STACKS = 1,     /* no kernel stack for a mapping site not seen before */
	GT_SHED_GPU_API = 2,    /* CUDA API records dropped on arrival (userspace) */
	GT_SHED_GC_MARKERS = 4, /* no GC pause-begin markers */
};
enum gt_shed_reason {
	GT_SHED_REASON_CPU = 1,
	GT_SHED_REASON_MEMORY_PSI = 2,
	GT_SHED_REASON_MEMORY_AVAILABLE = 4,
	GT_SHED_REASON_GC_PAUSE = 8,
};
#define GT_SHED_LEVEL_MAX 3

/* Where a handler's event came from: which attach flavour ran it. */
enum gt_source {
	GT_SRC_NONE = 0,
	GT_SRC_TP_BTF = 1,
	GT_SRC_RAW_TP = 2,
	GT_SRC_TRACEPOINT = 3,
	GT_SRC_FENTRY = 4,
	GT_SRC_KPROBE = 5,
	GT_SRC_USDT = 6,
	GT_SRC_UPROBE = 7,
	GT_SRC_USERSPACE = 8, /* synthesized by the daemon (sysfs, /proc, kmsg) */
};

/* Execution context of the task that triggered an event (bit flags). */
enum gt_context {
	GT_CTX_IRQ = 1,     /* hard or soft interrupt: current is whoever was interrupted */
	GT_CTX_KTHREAD = 2, /* kernel thread */
};

#endif /* GPUTRACE_BPF_COMMON_H */
