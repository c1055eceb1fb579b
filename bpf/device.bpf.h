/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Device identity and the in-kernel device filter (BPF side only).
 *
 * The first time a struct device shows up, its identity (name, driver, bus, PCI ids and
 * class) is read here, sent once as GT_EV_DEVICE, and the filter's verdict cached. The
 * default filter keeps GPUs (PCI class 0x03xxxx) plus the names the user listed
 * (gt_device_names); gt_all_devices keeps everything. Filtering happens before any record
 * is reserved. A direct-mapped cache in front of the verdict table (an array lookup the
 * verifier inlines, where a hash lookup is a call) keeps a filtered device's cost at one
 * load and a compare. Each traced device also gets a slot: the index of its DMA-API
 * counters and its key in the pairing table (bpf/dma_table.bpf.h).
 */
#ifndef GPUTRACE_BPF_DEVICE_BPF_H
#define GPUTRACE_BPF_DEVICE_BPF_H

#include "dma.h"
#include "ring.bpf.h"

const volatile bool gt_all_devices = false;

#define GT_DMA_MAX_DEVICES 256 /* traced devices with their own counters and table slots */
#define GT_DMA_NO_SLOT 0xffff

struct gt_device_verdict {
	__u8 traced;
	__u8 pad;
	__u16 slot; /* GT_DMA_NO_SLOT when filtered out or beyond GT_DMA_MAX_DEVICES */
	__u32 pad2;
};

/* dev pointer -> verdict; gt_ prefix: shared by every object */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct gt_device_verdict);
} gt_device_verdicts SEC(".maps");

/*
 * The verdict cache: one word per entry, read and written whole (never torn), holding
 * the device pointer's bits 3..47 (kernel pointers share their top 16 bits and struct
 * device is 8-byte aligned), GT_DEV_VALID, GT_DEV_TRACED, and the slot in bits 48..63.
 */
#define GT_DEVICE_CACHE 1024
#define GT_DEV_TRACED 1ULL
#define GT_DEV_VALID 2ULL
#define GT_DEV_POINTER_BITS 0x0000fffffffffff8ULL
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GT_DEVICE_CACHE);
	__type(key, __u32);
	__type(value, __u64);
} gt_device_cache SEC(".maps");

/* slot allocation: [0] the next free slot, [1 + slot] the device pointer of each slot */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, GT_DMA_MAX_DEVICES + 1);
	__type(key, __u32);
	__type(value, __u64);
} gt_device_slots SEC(".maps");

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

/*
 * A pointer's value as a number. tp_btf and fentry hand out typed (trusted) pointers, and
 * the verifier forbids arithmetic on them; a pointer stored in a map value (allowed to
 * CAP_PERFMON, which gputrace needs anyway) reads back as a plain number.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} gt_ptr_scratch SEC(".maps");

static __always_inline __u64 gt_ptr_value(const void *p)
{
	__u32 zero = 0;
	volatile __u64 *slot = bpf_map_lookup_elem(&gt_ptr_scratch, &zero);

	if (!slot)
		return 0;
	*slot = (__u64)p;
	return *slot;
}

static __always_inline __u32 gt_device_cache_index(__u64 key)
{
	return ((key >> 6) ^ (key >> 16)) & (GT_DEVICE_CACHE - 1);
}

static __always_inline __u64 gt_device_word(__u64 key, const struct gt_device_verdict *v)
{
	return (key & GT_DEV_POINTER_BITS) | GT_DEV_VALID | (v->traced ? GT_DEV_TRACED : 0) |
	       ((__u64)v->slot << 48);
}

/* A counter slot for a newly traced device; GT_DMA_NO_SLOT (counted) when all are taken. */
static __always_inline __u16 gt_device_new_slot(__u64 key)
{
	__u32 zero = 0, index;
	__u64 *next = bpf_map_lookup_elem(&gt_device_slots, &zero), *dev, slot;

	if (!next)
		return GT_DMA_NO_SLOT;
	slot = __sync_fetch_and_add(next, 1);
	if (slot >= GT_DMA_MAX_DEVICES) {
		gt_count_loss(GT_LOSS_DMA_DEVICE_SLOTS);
		return GT_DMA_NO_SLOT;
	}
	index = slot + 1;
	dev = bpf_map_lookup_elem(&gt_device_slots, &index);
	if (dev)
		*dev = key;
	return slot;
}

/* The slow path: the verdict table, or the device's first sight (described to userspace). */
static __noinline __u64 gt_device_describe(struct device *dev, __u64 key)
{
	struct gt_device_verdict *cached, v = {};
	struct gt_device_event *e;

	cached = bpf_map_lookup_elem(&gt_device_verdicts, &key);
	if (cached)
		return gt_device_word(key, cached);
	e = gt_reserve(&gt_ring_critical, sizeof(*e));
	if (!e)
		return 0; /* not cached: described on its next event */
	gt_fill_header(&e->hdr, GT_EV_DEVICE, sizeof(*e));
	e->dev = key;
	gt_read_device(e, dev);
	v.traced = gt_decide(e);
	v.slot = v.traced ? gt_device_new_slot(key) : GT_DMA_NO_SLOT;
	e->traced = v.traced;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	gt_submit_critical(e);
	/* LRU: when full, the coldest device is evicted and simply described again later */
	bpf_map_update_elem(&gt_device_verdicts, &key, &v, BPF_ANY);
	return gt_device_word(key, &v);
}

/*
 * The device's cache word (GT_DEV_TRACED, slot in bits 48..63); describes dev to
 * userspace on first sight. A device outside the filter costs this lookup and no more.
 */
static __always_inline __u64 gt_device_lookup(struct device *dev)
{
	__u64 key = gt_ptr_value(dev), word;
	__u32 index = gt_device_cache_index(key);
	__u64 *c;

	if (!dev)
		return gt_all_devices ? GT_DEV_VALID | GT_DEV_TRACED | ((__u64)GT_DMA_NO_SLOT << 48) : 0;
	c = bpf_map_lookup_elem(&gt_device_cache, &index);
	if (!c)
		return 0;
	word = *c;
	if ((word & GT_DEV_VALID) && !((word ^ key) & GT_DEV_POINTER_BITS))
		return word;
	word = gt_device_describe(dev, key);
	if (word)
		*c = word;
	return word;
}

static __always_inline __u16 gt_device_slot(__u64 word)
{
	return word >> 48;
}

/* Returns whether events of dev are traced; describes dev to userspace on first sight. */
static __always_inline bool gt_device_traced(struct device *dev)
{
	return gt_device_lookup(dev) & GT_DEV_TRACED;
}

/* Forget a device's verdict (its struct may be freed and reused by another device). */
static __always_inline void gt_device_forget(struct device *dev)
{
	__u64 key = gt_ptr_value(dev), zero = 0;
	__u32 index = gt_device_cache_index(key);

	bpf_map_delete_elem(&gt_device_verdicts, &key);
	bpf_map_update_elem(&gt_device_cache, &index, &zero, BPF_ANY);
}

#endif /* GPUTRACE_BPF_DEVICE_BPF_H */
