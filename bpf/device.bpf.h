/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Device identity and the in-kernel device filter (BPF side only).
 *
 * The first time a struct device shows up, its identity (name, driver, bus, PCI ids and
 * class) is read here, sent once as GT_EV_DEVICE, and the filter's verdict cached. The
 * default filter keeps GPUs (PCI class 0x03xxxx) plus the names the user listed
 * (gt_device_names); gt_all_devices keeps everything. Filtering happens before any record
 * is reserved, so filtered devices cost a hash lookup and nothing else.
 */
#ifndef GPUTRACE_BPF_DEVICE_BPF_H
#define GPUTRACE_BPF_DEVICE_BPF_H

#include "dma.h"
#include "ring.bpf.h"

const volatile bool gt_all_devices = false;

/* dev pointer -> verdict (1 traced, 0 filtered out); gt_ prefix: shared by every object */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, __u8);
} gt_device_verdicts SEC(".maps");

/* device names the user asked for with --device */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, char[GT_DEVNAME_LEN]);
	__type(value, __u8);
} gt_device_names SEC(".maps");

static __always_inline bool gt_is_pci(const char bus[8])
{
	return bus[0] == 'p' && bus[1] == 'c' && bus[2] == 'i' && bus[3] == 0;
}

static __always_inline void gt_read_device(struct gt_device_event *e, struct device *dev)
{
	struct device_driver *drv = BPF_CORE_READ(dev, driver);
	const struct bus_type *bus = BPF_CORE_READ(dev, bus);

	bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(dev, kobj.name));
	e->driver[0] = 0;
	if (drv)
		bpf_probe_read_kernel_str(e->driver, sizeof(e->driver), BPF_CORE_READ(drv, name));
	e->bus[0] = 0;
	if (bus)
		bpf_probe_read_kernel_str(e->bus, sizeof(e->bus), BPF_CORE_READ(bus, name));
	e->pci_class = 0;
	e->vendor = 0;
	e->device = 0;
	if (gt_is_pci(e->bus)) {
		/* container_of(dev, struct pci_dev, dev), with the offset relocated by CO-RE */
		struct pci_dev *pdev = (void *)dev - bpf_core_field_offset(struct pci_dev, dev);

		e->pci_class = BPF_CORE_READ(pdev, class);
		e->vendor = BPF_CORE_READ(pdev, vendor);
		e->device = BPF_CORE_READ(pdev, device);
	}
}

static __always_inline __u8 gt_decide(const struct gt_device_event *e)
{
	char name[GT_DEVNAME_LEN];

	if (gt_all_devices)
		return 1;
	if ((e->pci_class >> 16) == 0x03) /* display controllers: VGA, 3D, ... */
		return 1;
	__builtin_memcpy(name, e->name, sizeof(name));
	return bpf_map_lookup_elem(&gt_device_names, name) ? 1 : 0;
}

/* Returns whether events of dev are traced; describes dev to userspace on first sight. */
static __always_inline bool gt_device_traced(struct device *dev)
{
	__u64 key = (__u64)dev;
	struct gt_device_event *e;
	__u8 *cached, verdict;

	if (!dev)
		return gt_all_devices;
	cached = bpf_map_lookup_elem(&gt_device_verdicts, &key);
	if (cached)
		return *cached;
	e = gt_reserve(&gt_ring_critical, sizeof(*e));
	if (!e)
		return false; /* not cached: described on its next event */
	gt_fill_header(&e->hdr, GT_EV_DEVICE, sizeof(*e));
	e->dev = key;
	gt_read_device(e, dev);
	verdict = gt_decide(e);
	e->traced = verdict;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	gt_submit_critical(e);
	/* LRU: when full, the coldest device is evicted and simply described again later */
	bpf_map_update_elem(&gt_device_verdicts, &key, &verdict, BPF_ANY);
	return verdict;
}

/* Forget a device's verdict (its struct may be freed and reused by another device). */
static __always_inline void gt_device_forget(struct device *dev)
{
	__u64 key = (__u64)dev;

	bpf_map_delete_elem(&gt_device_verdicts, &key);
}

#endif /* GPUTRACE_BPF_DEVICE_BPF_H */
