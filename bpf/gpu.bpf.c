// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * GPU activity: copies each batch the CUPTI injection library (cupti/) announces on its USDT
 * probe gputrace:batch(ptr, len) into this object's own ring, gt_ring_gpu, as one
 * GT_EV_GPU_BATCH record. Its own ring because any process that maps the library can fire
 * the probe: a flood of batches must not evict DMA, IOMMU and GC events from the bulk ring.
 *
 * The batch is untrusted user memory. Here only its length is checked (the copy must be
 * bounded for the verifier and the ring); magic, counts and records are checked by the
 * daemon (userspace/gpu/batch_validator.h). The record header is filled from the kernel's
 * view (tgid, tid, CLOCK_MONOTONIC), which is what the daemon attributes the batch to.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "gpu.h"
#include "ring.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* ~500 full batches: a few flush periods of a busy GPU host */
} gt_ring_gpu SEC(".maps");

/* Header + the largest batch: bpf_ringbuf_output needs the whole record in BPF memory. */
struct gt_gpu_scratch {
	struct gt_event_header hdr;
	__u8 batch[GT_GPU_BATCH_MAX_BYTES];
	/*
	 * Set while a run owns the scratch. A uprobe program runs with migration disabled, not
	 * preemption: on a preemptible kernel another process's probe can run on this CPU in
	 * between, and without the flag it would overwrite this batch under the first header.
	 */
	__u32 busy;
};

/* Per-CPU: 16 KiB is far over the 512-byte stack, and a uprobe cannot migrate mid-run. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct gt_gpu_scratch);
} gt_gpu_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GT_GPU_PROBE_STAT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} gt_gpu_probe_stats SEC(".maps");

static __always_inline void gpu_count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&gt_gpu_probe_stats, &which);

	if (c)
		(*c)++;
}

static __always_inline int copy_batch(const void *ubatch, __u64 len)
{
	__u32 zero = 0;
	struct gt_gpu_scratch *s;
	__u32 n;

	/* Records are multiples of 8, so a whole batch is too; anything else is not ours. */
	if (len < sizeof(struct gt_gpu_batch) || len > GT_GPU_BATCH_MAX_BYTES || (len & 7)) {
		gpu_count(GT_GPU_PROBE_BAD_LENGTH);
		return 0;
	}
	s = bpf_map_lookup_elem(&gt_gpu_scratch, &zero);
	if (!s)
		return 0;
	if (__sync_lock_test_and_set(&s->busy, 1)) {
		gpu_count(GT_GPU_PROBE_BUSY);
		return 0;
	}
	n = len;
	/* restate the bound in a form clang-14 keeps for the verifier */
	n &= (GT_GPU_BATCH_MAX_BYTES * 2 - 1);
	if (n > GT_GPU_BATCH_MAX_BYTES)
		goto out;
	if (bpf_probe_read_user(s->batch, n, ubatch)) {
		gpu_count(GT_GPU_PROBE_READ_FAILED);
		goto out;
	}
	gt_fill_header(&s->hdr, GT_EV_GPU_BATCH, sizeof(s->hdr) + n);
	if (bpf_ringbuf_output(&gt_ring_gpu, s, sizeof(s->hdr) + n, BPF_RB_NO_WAKEUP)) {
		gpu_count(GT_GPU_PROBE_RING_FULL);
		goto out;
	}
	gpu_count(GT_GPU_PROBE_BATCHES);
out:
	s->busy = 0; /* same CPU, after the helper calls: a plain store suffices */
	return 0;
}

SEC("usdt")
int BPF_USDT(gt_gpu_batch_probe, const void *batch, __u64 len)
{
	return copy_batch(batch, len);
}
