/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ioctl interface of /dev/gputrace_edu, shared by the test module
 * (gputrace_edu.ko) and the guest program edu_user.
 */
#ifndef GPUTRACE_EDU_UAPI_H
#define GPUTRACE_EDU_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define GPUTRACE_EDU_DEVNAME "gputrace_edu"

/* Values of gputrace_edu_map.dir: the kernel's enum dma_data_direction. */
#define GPUTRACE_EDU_DIR_BIDIRECTIONAL	0
#define GPUTRACE_EDU_DIR_TO_DEVICE	1
#define GPUTRACE_EDU_DIR_FROM_DEVICE	2

/* gputrace_edu_map.flags */
#define GPUTRACE_EDU_MAP_XFER	(1u << 0)	/* also run one device DMA from it */

struct gputrace_edu_map {
	__u32 size;		/* in: bytes to kmalloc and map (1..PAGE_SIZE) */
	__u32 dir;		/* in: GPUTRACE_EDU_DIR_* */
	__u32 flags;		/* in: GPUTRACE_EDU_MAP_* */
	__u32 pad;
	__u64 bus_addr;		/* out: the dma_addr_t the device sees */
};

/*
 * MAP: kmalloc a buffer and dma_map_single() it in the calling process's
 * context. The mapping belongs to the open file: close() unmaps it, unless
 * the file is leaky.
 * SET_LEAKY: non-zero makes close() leave this file's mappings mapped
 * (they stay outstanding until the device is unbound, and beyond).
 */
#define GPUTRACE_EDU_IOC_MAP		_IOWR('G', 1, struct gputrace_edu_map)
#define GPUTRACE_EDU_IOC_SET_LEAKY	_IOW('G', 2, __u32)

#endif /* GPUTRACE_EDU_UAPI_H */
