/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* PCIe health: AER errors and swiotlb bounce buffering. */
#ifndef GPUTRACE_BPF_PCIE_H
#define GPUTRACE_BPF_PCIE_H

#include "common.h"

/* GT_EV_AER: ras:aer_event(dev_name, status, severity, tlp_header_valid, tlp). */
struct gt_aer_event {
	struct gt_event_header hdr;
	char name[GT_DEVNAME_LEN];
	__u32 status;
	__u8 severity; /* 0 = uncorrectable non-fatal, 1 = fatal, 2 = corrected */
	__u8 tlp_header_valid;
	__u8 pad[2];
};
GT_STATIC_ASSERT(sizeof(struct gt_aer_event) == 64, "gt_aer_event layout");

/* GT_EV_SWIOTLB_BOUNCE: swiotlb:swiotlb_bounced(dev, dma_addr, size). */
struct gt_swiotlb_event {
	struct gt_event_header hdr;
	__u64 dev;
	__u64 dma_addr;
	__u64 size;
};
GT_STATIC_ASSERT(sizeof(struct gt_swiotlb_event) == 48, "gt_swiotlb_event layout");

#endif /* GPUTRACE_BPF_PCIE_H */
