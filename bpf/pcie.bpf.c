// SPDX-License-Identifier: GPL-2.0
/*
 * PCIe health collector: AER errors (ras:aer_event) and swiotlb bounce buffering
 * (swiotlb:swiotlb_bounced), both stall causes for host<->device copies.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "device.bpf.h"
#include "pcie.h"
#include "ring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

static __always_inline void on_aer(const char *dev_name, __u32 status, __u8 severity, __u8 tlp_valid)
{
	struct gt_aer_event *e = gt_reserve(&gt_ring_critical, sizeof(*e));

	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_AER, sizeof(*e));
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), dev_name);
	e->status = status;
	e->severity = severity;
	e->tlp_header_valid = tlp_valid;
	e->pad[0] = e->pad[1] = 0;
	gt_submit_critical(e);
}

static __always_inline void on_bounce(struct device *dev, __u64 dma_addr, __u64 size)
{
	struct gt_swiotlb_event *e;

	if (!gt_device_traced(dev))
		return;
	e = gt_reserve(&gt_ring_bulk, sizeof(*e));
	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_SWIOTLB_BOUNCE, sizeof(*e));
	e->dev = (__u64)dev;
	e->dma_addr = dma_addr;
	e->size = size;
	gt_submit_bulk(e);
}

SEC("tp_btf/aer_event")
int BPF_PROG(aer_tp_btf, const char *dev_name, u32 status, u8 severity, u8 tlp_header_valid)
{
	on_aer(dev_name, status, severity, tlp_header_valid);
	return 0;
}

SEC("raw_tp/aer_event")
int BPF_PROG(aer_raw_tp, const char *dev_name, u32 status, u8 severity, u8 tlp_header_valid)
{
	on_aer(dev_name, status, severity, tlp_header_valid);
	return 0;
}

SEC("tp_btf/swiotlb_bounced")
int BPF_PROG(swiotlb_tp_btf, struct device *dev, dma_addr_t dev_addr, size_t size)
{
	on_bounce(dev, dev_addr, size);
	return 0;
}

SEC("raw_tp/swiotlb_bounced")
int BPF_PROG(swiotlb_raw_tp, struct device *dev, dma_addr_t dev_addr, size_t size)
{
	on_bounce(dev, dev_addr, size);
	return 0;
}
