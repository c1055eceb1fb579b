// SPDX-License-Identifier: GPL-2.0
/*
 * Driver unbind collector: reports when a driver has finished releasing a device, the
 * point where dma-debug declares any mapping the driver still holds a leak. There is no
 * tracepoint for it: device_release_driver_internal() is hooked at entry (the device still
 * has its driver) and at return (remove() has run).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "device.bpf.h"
#include "dma.h"
#include "dma_table.bpf.h"
#include "ring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct unbind_pending {
	struct device *dev;
	char driver[GT_DRIVER_LEN];
};
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct unbind_pending);
} unbinds SEC(".maps");

static __always_inline void unbind_begin(struct device *dev)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct device_driver *drv = BPF_CORE_READ(dev, driver);
	struct unbind_pending p = { .dev = dev };

	if (!drv || !gt_device_traced(dev))
		return; /* nothing bound: nothing released */
	bpf_probe_read_kernel_str(p.driver, sizeof(p.driver), BPF_CORE_READ(drv, name));
	if (bpf_map_update_elem(&unbinds, &tid, &p, BPF_ANY))
		gt_count_loss(GT_LOSS_PENDING_TABLE);
}

static __always_inline void unbind_end(__u8 src)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct unbind_pending *p = bpf_map_lookup_elem(&unbinds, &tid);
	struct gt_unbind_event *e;
	__u16 slot;

	if (!p)
		return;
	/* mappings still young in the kernel's table go to userspace first: stamped before the unbind */
	slot = gt_device_slot(gt_device_lookup(p->dev));
	if (slot < GT_DMA_MAX_DEVICES) {
		struct gt_sweep w = { .now_ns = bpf_ktime_get_ns(), .now_jiffies = bpf_jiffies64(),
				      .mode = GT_SWEEP_DEVICE, .dev = slot };

		gt_sweep_table(&w);
	}
	e = gt_reserve(&gt_ring_critical, sizeof(*e));
	if (e) {
		gt_fill_header(&e->hdr, GT_EV_DRIVER_UNBIND, sizeof(*e));
		e->dev = (__u64)p->dev;
		__builtin_memcpy(e->driver, p->driver, sizeof(e->driver));
		e->source = src;
		__builtin_memset(e->pad, 0, sizeof(e->pad));
		gt_submit_critical(e);
	}
	/* a later bind (maybe another driver) is described afresh */
	gt_device_forget(p->dev);
	bpf_map_delete_elem(&unbinds, &tid);
}

SEC("fentry/device_release_driver_internal")
int BPF_PROG(unbind_fentry, struct device *dev)
{
	unbind_begin(dev);
	return 0;
}

SEC("fexit/device_release_driver_internal")
int BPF_PROG(unbind_fexit)
{
	unbind_end(GT_SRC_FENTRY);
	return 0;
}

SEC("kprobe/device_release_driver_internal")
int BPF_KPROBE(unbind_kprobe, struct device *dev)
{
	unbind_begin(dev);
	return 0;
}

SEC("kretprobe/device_release_driver_internal")
int BPF_KRETPROBE(unbind_kretprobe)
{
	unbind_end(GT_SRC_KPROBE);
	return 0;
}
