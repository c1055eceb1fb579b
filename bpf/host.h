/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records the daemon writes itself: stacks, device facts from sysfs, loss counters. */
#ifndef GPUTRACE_BPF_HOST_H
#define GPUTRACE_BPF_HOST_H

#include "common.h"

#define GT_MAX_STACK_DEPTH 32

/*
 * GT_EV_STACK: a kernel stack, symbolized on the host that recorded it (kallsyms differ
 * between hosts). Followed by nr_frames gt_stack_frame entries, then the symbol names:
 * frame i's name is names_len bytes of NUL-separated strings, in frame order.
 */
struct gt_stack_event {
	struct gt_event_header hdr;
	__s32 stack_id;
	__u32 nr_frames;
	__u32 names_len;
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_stack_event) == 40, "gt_stack_event layout");

struct gt_stack_frame {
	__u64 ip;
	__u32 offset; /* ip - symbol start */
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_stack_frame) == 16, "gt_stack_frame layout");

enum gt_iommu_mode {
	GT_IOMMU_NONE = 0,     /* no IOMMU translates this device's DMA */
	GT_IOMMU_STRICT = 1,   /* "DMA": unmap flushes the IOTLB before it returns */
	GT_IOMMU_LAZY = 2,     /* "DMA-FQ": flushes are batched; an unmapped IOVA stays reachable briefly */
	GT_IOMMU_IDENTITY = 3, /* passthrough */
	GT_IOMMU_BLOCKED = 4,
	GT_IOMMU_UNMANAGED = 5,/* owned by a user driver (VFIO) */
	GT_IOMMU_UNKNOWN = 6,
};

/* GT_EV_DEVICE_FACTS: sysfs facts of one PCI device, read when tracing started. */
struct gt_device_facts_event {
	struct gt_event_header hdr;
	char name[GT_DEVNAME_LEN];
	char driver[GT_DRIVER_LEN];
	__u32 pci_class;
	__u16 vendor;
	__u16 device;
	__s32 iommu_group;      /* -1 when none */
	__u8 iommu_mode;        /* enum gt_iommu_mode */
	__u8 link_width;        /* current_link_width, 0 if not PCIe */
	__u8 max_link_width;
	__u8 pad;
	__u32 link_speed_mts;   /* current_link_speed in MT/s (2.5 GT/s = 2500) */
	__u32 max_link_speed_mts;
};
GT_STATIC_ASSERT(sizeof(struct gt_device_facts_event) == 104, "gt_device_facts_event layout");

/* GT_EV_LOSS: cumulative count of one loss counter at hdr.ts_ns. */
struct gt_loss_event {
	struct gt_event_header hdr;
	__u64 value;
	char name[32]; /* stable counter name, e.g. "ring_full_bulk", "recursion_misses:dma_map" */
};
GT_STATIC_ASSERT(sizeof(struct gt_loss_event) == 64, "gt_loss_event layout");

/*
 * GT_EV_SHED: the load shedder changed level (userspace/session/load_shedder.h). Readings in
 * hundredths of a percent, GT_SHED_UNKNOWN where the host does not offer them.
 */
#define GT_SHED_UNKNOWN 0xffffffffu
struct gt_shed_event {
	struct gt_event_header hdr;
	__u32 level;      /* 0: nothing shed .. GT_SHED_LEVEL_MAX */
	__u32 reasons;    /* enum gt_shed_reason: what pressed in the latest reading */
	__u32 flags;      /* enum gt_shed_flags now in force */
	__u32 cpu_busy;   /* CPU busy share */
	__u32 memory_psi; /* PSI memory some avg10 */
	__u32 memory_available;
	__u64 longest_gc_pause_ns;
};
GT_STATIC_ASSERT(sizeof(struct gt_shed_event) == 56, "gt_shed_event layout");

#endif /* GPUTRACE_BPF_HOST_H */
