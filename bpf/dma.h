/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* DMA-API events: map/unmap of pages and scatter-gather lists, coherent alloc/free. */
#ifndef GPUTRACE_BPF_DMA_H
#define GPUTRACE_BPF_DMA_H

#include "common.h"

enum gt_dma_api {
	GT_DMA_PAGE = 1,     /* dma_map_page/phys, dma_map_single */
	GT_DMA_SG = 2,       /* dma_map_sg: key is the first segment's bus address */
	GT_DMA_COHERENT = 3, /* dma_alloc_coherent / dma_free_coherent */
};

/* GT_EV_DMA_MAP and GT_EV_DMA_UNMAP. */
struct gt_dma_event {
	struct gt_event_header hdr;
	__u64 dev;       /* struct device pointer: an opaque key, described by a GT_EV_DEVICE */
	__u64 dma_addr;  /* bus address (IOVA behind an IOMMU) */
	__u64 size;      /* bytes; for sg the sum of the mapped segments */
	__u64 phys_addr; /* map: CPU physical address of the first byte (0 if unknown) */
	__u32 nents;     /* sg: mapped segments; 1 otherwise */
	__s32 stack_id;  /* map: kernel stack of the mapping site, < 0 when not captured */
	__u8 api;        /* enum gt_dma_api */
	__u8 dir;        /* enum dma_data_direction */
	__u8 context;    /* enum gt_context flags */
	__u8 source;     /* enum gt_source */
	__u32 attrs;     /* DMA_ATTR_* */
	char comm[GT_COMM_LEN];
};
GT_STATIC_ASSERT(sizeof(struct gt_dma_event) == 88, "gt_dma_event layout");

/* GT_EV_DEVICE: identity of a struct device, sent once, before its first event. */
struct gt_device_event {
	struct gt_event_header hdr;
	__u64 dev;
	char name[GT_DEVNAME_LEN];  /* dev_name(): the PCI address for PCI devices */
	char driver[GT_DRIVER_LEN]; /* bound driver, empty if none */
	char bus[8];                /* "pci", "platform", ... */
	__u32 pci_class;            /* PCI class code (0x030200 = 3D controller), 0 if not PCI */
	__u16 vendor;
	__u16 device;
	__u8 traced;                /* passed the device filter */
	__u8 pad[7];
};
GT_STATIC_ASSERT(sizeof(struct gt_device_event) == 112, "gt_device_event layout");

/* GT_EV_DRIVER_UNBIND: the driver finished releasing the device (dma-debug's leak check point). */
struct gt_unbind_event {
	struct gt_event_header hdr;
	__u64 dev;
	char driver[GT_DRIVER_LEN];
	__u8 source;
	__u8 pad[7];
};
GT_STATIC_ASSERT(sizeof(struct gt_unbind_event) == 64, "gt_unbind_event layout");

/*
 * In-kernel pairing (docs/architecture.md): the map handlers keep each mapping in a BPF
 * table and the unmap handlers close it there, so a short-lived pair never crosses the ring.
 * Why a mapping is shipped as GT_EV_DMA_OUTSTANDING:
 */
enum gt_dma_ship_reason {
	GT_SHIP_PROMOTED = 1,   /* outlived the promotion threshold (the periodic sweep) */
	GT_SHIP_TABLE_FULL = 2, /* its table bucket was full: shipped at map time */
	GT_SHIP_DUPLICATE = 3,  /* the same (device, address) mapped again while mapped */
	GT_SHIP_MISMATCH = 4,   /* its unmap does not match it (size, direction or API) */
	GT_SHIP_UNBIND = 5,     /* outstanding when its device's driver unbound */
	GT_SHIP_FLUSH = 6,      /* outstanding when tracing stopped */
	GT_SHIP_LARGE = 7,      /* 4 GiB or more: too large for the table's size field */
};

/*
 * GT_EV_DMA_OUTSTANDING and GT_EV_DMA_CLOSED. hdr.ts is when it was shipped; hdr.pid and
 * hdr.tid are the mapping task's tgid. map_ts_ns is when it was mapped: exact when shipped
 * at map time, else rounded down to the kernel tick the table records (jiffies, a few ms).
 */
struct gt_dma_mapping_event {
	struct gt_event_header hdr;
	__u64 dev;
	__u64 dma_addr;
	__u64 size;
	__u64 map_ts_ns;
	__u64 unmap_ts_ns; /* GT_EV_DMA_CLOSED: when the kernel paired it (to a tick); else 0 */
	__u32 nents;
	__s32 stack_id;    /* the mapping site's kernel stack, < 0 when not captured */
	__u8 api;          /* enum gt_dma_api */
	__u8 dir;
	__u8 context;      /* enum gt_context flags */
	__u8 source;       /* enum gt_source */
	__u8 reason;       /* enum gt_dma_ship_reason */
	__u8 pad[3];
	char comm[GT_COMM_LEN]; /* the mapping task's, when shipped at map time; else empty */
};
GT_STATIC_ASSERT(sizeof(struct gt_dma_mapping_event) == 96, "gt_dma_mapping_event layout");

/* Per-device counts BPF keeps per CPU, by API (index enum gt_dma_api - 1): every event, exact. */
struct gt_dma_counts {
	__u64 maps[3];
	__u64 unmaps[3];
	__u64 map_bytes[3];
	__u64 unmap_bytes[3];
};
GT_STATIC_ASSERT(sizeof(struct gt_dma_counts) == 96, "gt_dma_counts layout");

/*
 * GT_EV_DMA_COUNTS: the sum over CPUs of one counter slot, cumulative since tracing
 * started. A device has one slot per description (a device described again after its
 * driver unbound gets a new one): a device's totals are the sum of its slots.
 */
struct gt_dma_counts_event {
	struct gt_event_header hdr;
	__u64 dev;
	struct gt_dma_counts counts;
	__u32 slot;
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_dma_counts_event) == 136, "gt_dma_counts_event layout");

#endif /* GPUTRACE_BPF_DMA_H */
