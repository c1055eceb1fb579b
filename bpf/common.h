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

/* Record kinds. Numbers are part of the capture format: never reuse one. */
enum gt_event_kind {
	GT_EV_NONE = 0,
	/* processes (bpf/proc.h) */
	GT_EV_PROC_EXEC = 1,
	GT_EV_PROC_FORK = 2,
	GT_EV_PROC_EXIT = 3,
	/* DMA API (bpf/dma.h) */
	GT_EV_DMA_MAP = 10,
	GT_EV_DMA_UNMAP = 11,
	GT_EV_DEVICE = 12,
	GT_EV_DRIVER_UNBIND = 13,
	/* DMA API, paired in the kernel (bpf/dma.h, docs/architecture.md) */
	GT_EV_DMA_OUTSTANDING = 14, /* a mapping userspace must track from now on */
	GT_EV_DMA_RELEASED = 15,    /* an unmap the kernel could not pair: of an outstanding one, or of nothing */
	GT_EV_DMA_CLOSED = 16,      /* a pair the kernel closed, sent as evidence when its address is unmapped again */
	GT_EV_DMA_COUNTS = 17,      /* per-device DMA-API counts kept by BPF (written by userspace) */
	/* IOMMU (bpf/iommu.h) */
	GT_EV_IOMMU_MAP = 20,
	GT_EV_IOMMU_UNMAP = 21,
	GT_EV_IOMMU_FAULT = 22,
	GT_EV_IOMMU_LATENCY = 23,
	/* PCIe health (bpf/pcie.h) */
	GT_EV_AER = 30,
	GT_EV_SWIOTLB_BOUNCE = 31,
	/* managed-runtime GC: 40..59 (bpf/gc.h) */
	/* GPU activity from the CUPTI library: 60..79 (bpf/gpu.h) */
	/* written by userspace, never by BPF (userspace/host, userspace/loader) */
	GT_EV_STACK = 100,       /* a kernel stack, symbolized where it was recorded */
	GT_EV_PROC_INFO = 101,   /* a process that existed when tracing started */
	GT_EV_DEVICE_FACTS = 102,/* sysfs facts of a device: IOMMU group and mode, PCIe link */
	GT_EV_LOSS = 103,        /* cumulative value of one loss counter */
	GT_EV_KIND_MAX = 128,
};

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
 * Loss counters kept by BPF in a per-CPU array, indexed by this enum. Userspace adds the
 * counters it owns (decode errors, ...) in userspace/util/losses.h after GT_LOSS_BPF_MAX.
 */
enum gt_loss {
	GT_LOSS_RING_FULL_BULK = 0,     /* bulk ring full: a DMA/IOMMU/GC event was dropped */
	GT_LOSS_RING_FULL_CRITICAL = 1, /* critical ring full: an exit/fault/unbind/device was dropped */
	GT_LOSS_STACK = 2,              /* kernel stack not captured (stack map full or error) */
	GT_LOSS_DEVICE_TABLE = 3,       /* device verdict table full: device treated as filtered out */
	GT_LOSS_PENDING_TABLE = 4,      /* entry/return pairing table full: a map was not seen */
	/* not losses: work that fell back to a costlier path, counted so it is never silent */
	GT_LOSS_DMA_TABLE_FULL = 5,     /* a mapping's table bucket was full: shipped at once, paired in userspace */
	GT_LOSS_DMA_PROMOTE_DEFERRED = 6, /* bulk ring full: a promotion waits for the next sweep */
	GT_LOSS_DMA_DEVICE_SLOTS = 7,   /* a traced device beyond the counter slots: its events all cross the ring */
	GT_LOSS_BPF_MAX = 8,
};

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
