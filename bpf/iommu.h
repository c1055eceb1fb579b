/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* IOMMU page-table events, latency of the DMA-IOMMU map/unmap path, and faults. */
#ifndef GPUTRACE_BPF_IOMMU_H
#define GPUTRACE_BPF_IOMMU_H

#include "common.h"

/* GT_EV_IOMMU_MAP / GT_EV_IOMMU_UNMAP: iommu:map(iova, paddr, size), iommu:unmap(iova, size, unmapped). */
struct gt_iommu_event {
	struct gt_event_header hdr;
	__u64 iova;
	__u64 paddr;    /* map only */
	__u64 size;
	__u64 unmapped; /* unmap only: bytes actually unmapped */
	__u8 source;
	__u8 pad[7];
};
GT_STATIC_ASSERT(sizeof(struct gt_iommu_event) == 64, "gt_iommu_event layout");

enum gt_iommu_op { GT_IOMMU_OP_MAP = 1, GT_IOMMU_OP_UNMAP = 2 };

/* GT_EV_IOMMU_LATENCY: one call of the DMA-IOMMU map/unmap path (strict mode pays the IOTLB flush in unmap). */
struct gt_iommu_latency_event {
	struct gt_event_header hdr;
	__u64 dev;
	__u64 iova;
	__u64 size;
	__u64 latency_ns;
	__u8 op;        /* enum gt_iommu_op */
	__u8 source;
	__u8 pad[6];
};
GT_STATIC_ASSERT(sizeof(struct gt_iommu_latency_event) == 64, "gt_iommu_latency_event layout");

enum gt_fault_source {
	GT_FAULT_TRACEPOINT = 1, /* iommu:io_page_fault (AMD-Vi, SMMU, ...) */
	GT_FAULT_DMAR_KMSG = 2,  /* Intel VT-d never calls report_iommu_fault: the kernel's DMAR log line */
};

/* GT_EV_IOMMU_FAULT */
struct gt_iommu_fault_event {
	struct gt_event_header hdr;
	__u64 dev;                 /* 0 when only the name is known */
	__u64 iova;
	__u32 flags;               /* IOMMU_FAULT_READ/WRITE from the tracepoint; DMA read=0/write=1 from DMAR */
	__u32 reason;              /* DMAR fault reason code, 0 if unknown */
	char name[GT_DEVNAME_LEN]; /* device name (PCI address) */
	__u8 source;               /* enum gt_fault_source */
	__u8 pad[7];
};
GT_STATIC_ASSERT(sizeof(struct gt_iommu_fault_event) == 88, "gt_iommu_fault_event layout");

#endif /* GPUTRACE_BPF_IOMMU_H */
