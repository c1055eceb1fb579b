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

#endif /* GPUTRACE_BPF_DMA_H */
