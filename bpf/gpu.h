/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * GPU activity from the CUPTI injection library (cupti/), in gputrace's wire format.
 *
 * The library converts CUPTI activity records into the records below inside the served
 * process, packs them back to back behind a struct gt_gpu_batch, and hands the batch to the
 * daemon through the USDT probe gputrace:batch(ptr, len) (copied by bpf/gpu.bpf.c into the
 * GPU ring as one GT_EV_GPU_BATCH record) or, without a tracer attached, as one datagram on
 * an AF_UNIX SOCK_SEQPACKET socket. Everything inside a batch comes from an unprivileged
 * process: the daemon validates it (userspace/gpu/batch_validator.h) and stamps every record
 * with the pid the kernel vouches for.
 *
 * Timestamps are CLOCK_MONOTONIC ns: hdr.ts_ns is the start of the activity. The library
 * sets hdr.cpu to GT_GPU_NO_CPU and hdr.tid to 0 (device work has no CPU or thread), except
 * API records, whose tid is the calling thread.
 */
#ifndef GPUTRACE_BPF_GPU_H
#define GPUTRACE_BPF_GPU_H

#include "common.h"

#define GT_GPU_NO_CPU 0xffff
#define GT_GPU_BATCH_MAGIC 0x42475447u /* "GTGB", little endian */
#define GT_GPU_BATCH_VERSION 1
/* Largest batch (header + records) the probe carries: bounds the BPF copy and the datagram. */
#define GT_GPU_BATCH_MAX_BYTES 16384
/* Longest kernel name, NUL included; longer names are cut and flagged. */
#define GT_GPU_NAME_MAX 2048
#define GT_GPU_HOLDER_LEN 64

/* In front of the records of every batch (user memory, then the GT_EV_GPU_BATCH payload). */
struct gt_gpu_batch {
	__u32 magic;       /* GT_GPU_BATCH_MAGIC */
	__u16 version;     /* GT_GPU_BATCH_VERSION */
	__u16 header_size; /* sizeof(struct gt_gpu_batch) */
	__u32 pid;         /* getpid() in the sender's pid namespace: informative only */
	__u32 count;       /* records that follow */
	__u32 bytes;       /* bytes of records that follow */
	__u32 pad;
	__u64 seq;         /* per-process batch sequence: a gap means batches were lost */
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_batch) == 32, "gt_gpu_batch layout");

/*
 * GT_EV_GPU_BATCH: what bpf/gpu.bpf.c writes to its own ring, gt_ring_gpu (the socket route
 * carries the same batch). hdr (pid, tid, ts) is the kernel's word; batch and the records
 * after it are the process's.
 */
struct gt_gpu_batch_event {
	struct gt_event_header hdr;
	struct gt_gpu_batch batch;
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_batch_event) == 56, "gt_gpu_batch_event layout");

/*
 * Per-CPU counters of bpf/gpu.bpf.c (map gt_gpu_probe_stats), indexed by enum
 * gt_gpu_probe_stat. All but BATCHES are losses: X(NAME, index, counter name, "what it counts")
 * feeds the daemon's loss table (userspace/model/loss_counters.h).
 */
#define GT_GPU_PROBE_LOSSES(X)                                                                \
	X(BAD_LENGTH, 1, gpu_probe_bad_length,                                                 \
	  "GPU batches the USDT probe refused: length 0, not a multiple of 8, or too long")     \
	X(READ_FAILED, 2, gpu_probe_read_failed, "GPU batches that were not readable user memory") \
	X(RING_FULL, 3, gpu_probe_ring_full, "GPU batches dropped because the GPU ring was full") \
	X(BUSY, 4, gpu_probe_busy, "GPU batches dropped: the CPU's scratch was in use by a preempted run")

#define GT_GPU_PROBE_ENUMERATOR(NAME, INDEX, ...) GT_GPU_PROBE_##NAME = INDEX,

enum gt_gpu_probe_stat {
	GT_GPU_PROBE_BATCHES = 0, /* batches copied into the ring */
	GT_GPU_PROBE_LOSSES(GT_GPU_PROBE_ENUMERATOR)
	GT_GPU_PROBE_STAT_MAX = 5,
};

/* GT_EV_GPU_KERNEL: one kernel execution (CUPTI CONCURRENT_KERNEL). */
struct gt_gpu_kernel_event {
	struct gt_event_header hdr; /* ts_ns: start */
	__u64 end_ns;
	__u64 name_id;      /* GT_EV_GPU_NAME id; 0 when the name table was full */
	__u32 device_id;
	__u32 context_id;
	__u32 stream_id;
	__u32 correlation_id; /* joins the launching API call */
	__u32 graph_id;       /* 0 unless launched from a CUDA graph */
	__u32 grid[3];
	__u32 block[3];
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_kernel_event) == 88, "gt_gpu_kernel_event layout");

/* CUpti_ActivityMemcpyKind values the analyzers look at (the rest pass through). */
enum gt_gpu_copy_kind {
	GT_GPU_COPY_UNKNOWN = 0,
	GT_GPU_COPY_HTOD = 1,
	GT_GPU_COPY_DTOH = 2,
	GT_GPU_COPY_DTOD = 8,
	GT_GPU_COPY_HTOH = 9,
	GT_GPU_COPY_PTOP = 10,
};

/* GT_EV_GPU_MEMCPY: one copy (CUPTI MEMCPY). Memory kinds are CUpti_ActivityMemoryKind. */
struct gt_gpu_memcpy_event {
	struct gt_event_header hdr; /* ts_ns: start */
	__u64 end_ns;
	__u64 bytes;
	__u32 device_id;
	__u32 context_id;
	__u32 stream_id;
	__u32 correlation_id;
	__u8 copy_kind;   /* enum gt_gpu_copy_kind */
	__u8 src_kind;    /* 1 pageable, 2 pinned, 3 device, ... */
	__u8 dst_kind;
	__u8 flags;       /* CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC = 1 */
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_memcpy_event) == 64, "gt_gpu_memcpy_event layout");

/* GT_EV_GPU_MEMSET: one memset (CUPTI MEMSET). */
struct gt_gpu_memset_event {
	struct gt_event_header hdr; /* ts_ns: start */
	__u64 end_ns;
	__u64 bytes;
	__u32 device_id;
	__u32 context_id;
	__u32 stream_id;
	__u32 correlation_id;
	__u32 value;
	__u16 memory_kind;
	__u16 flags;
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_memset_event) == 64, "gt_gpu_memset_event layout");

/*
 * GT_EV_GPU_NAME: name_len bytes of name, then a NUL, then zero padding to a multiple of 8.
 * hdr.size == sizeof(struct gt_gpu_name_event) + name_len + 1, rounded up to 8.
 */
struct gt_gpu_name_event {
	struct gt_event_header hdr;
	__u64 name_id;
	__u32 name_len;  /* bytes before the NUL, < GT_GPU_NAME_MAX */
	__u32 flags;     /* GT_GPU_NAME_TRUNCATED */
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_name_event) == 40, "gt_gpu_name_event layout");
#define GT_GPU_NAME_TRUNCATED 1

enum gt_gpu_state {
	GT_GPU_STATE_ACTIVE = 0,          /* activity tracing on */
	GT_GPU_STATE_OTHER_SUBSCRIBER = 1,/* another CUPTI client holds the process: see holder */
	GT_GPU_STATE_CUPTI_FAILED = 2,    /* a CUPTI call failed: see cupti_result */
	GT_GPU_STATE_EXITING = 3,         /* final flush at process exit done */
	GT_GPU_STATE_DETACHED = 4,        /* `gputrace detach` or the last tracer's exit: inert now */
};

enum gt_gpu_clock_mode {
	GT_GPU_CLOCK_MONOTONIC = 0,  /* CUPTI stamps with our CLOCK_MONOTONIC callback: exact */
	GT_GPU_CLOCK_CALIBRATED = 1, /* CUPTI's own clock + offset; clock_error_ns bounds the error */
	GT_GPU_CLOCK_RAW = 2,        /* neither worked: timestamps are CUPTI's clock, unaligned */
};

/* GT_EV_GPU_STATUS: sent at start, when counts or the clock change, and at exit. */
struct gt_gpu_status_event {
	struct gt_event_header hdr;
	__u32 state;        /* enum gt_gpu_state */
	__s32 cupti_result; /* CUptiResult of the call that decided state */
	__u32 clock_mode;   /* enum gt_gpu_clock_mode */
	__u32 cupti_version;
	__s64 clock_offset_ns; /* added to CUPTI timestamps (CALIBRATED) */
	__u64 clock_error_ns;  /* |converted - true monotonic| <= this (CALIBRATED) */
	__u64 records;         /* cumulative records converted */
	__u64 dropped_cupti;   /* cumulative records CUPTI dropped (its buffers were full) */
	__u64 dropped_local;   /* cumulative records the library could not hand over */
	char holder[GT_GPU_HOLDER_LEN]; /* the other CUPTI client's name, NUL-terminated */
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_status_event) == 144, "gt_gpu_status_event layout");

enum gt_gpu_api_domain {
	GT_GPU_API_RUNTIME = 1,
	GT_GPU_API_DRIVER = 2,
};

/* GT_EV_GPU_API: one CUDA API call; hdr.tid is the calling thread. */
struct gt_gpu_api_event {
	struct gt_event_header hdr; /* ts_ns: entry */
	__u64 end_ns;
	__u32 cbid;          /* CUPTI callback id of the function */
	__u32 correlation_id;
	__u32 return_value;
	__u8 domain;         /* enum gt_gpu_api_domain */
	__u8 pad[3];
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_api_event) == 48, "gt_gpu_api_event layout");

enum gt_gpu_memory_op {
	GT_GPU_MEMORY_ALLOC = 1,
	GT_GPU_MEMORY_RELEASE = 2,
};

/* GT_EV_GPU_MEMORY: a device memory allocation or release (CUPTI MEMORY2). */
struct gt_gpu_memory_event {
	struct gt_event_header hdr; /* ts_ns: when it happened */
	__u64 address;
	__u64 bytes;
	__u32 device_id;
	__u32 stream_id;
	__u32 correlation_id;
	__u8 op;          /* enum gt_gpu_memory_op */
	__u8 memory_kind;
	__u16 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_memory_event) == 56, "gt_gpu_memory_event layout");

/*
 * GT_EV_GPU_DEVICE: binds the device_id of this process's activity records (a CUDA device
 * ordinal, which CUDA_VISIBLE_DEVICES and CUDA_DEVICE_ORDER renumber per process) to the
 * PCI function the daemon knows from sysfs and the DMA hooks. The injection library reads it
 * from the CUDA driver (cuDeviceGetAttribute PCI_*_ID) when a context is created.
 */
struct gt_gpu_device_event {
	struct gt_event_header hdr;
	__u32 device_id;
	__u32 pci_domain; /* <= 0xffff */
	__u32 pci_bus;    /* <= 0xff */
	__u32 pci_device; /* <= 0x1f; the function is 0 for every CUDA device */
	char name[64];    /* e.g. "NVIDIA H100 80GB HBM3", NUL-terminated */
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_device_event) == 104, "gt_gpu_device_event layout");

/*
 * GT_EV_GPU_LIB_LOSSES: cumulative counts of what the library took from CUPTI but could not
 * ship, sent in the same batch as each status record. Records CUPTI could not time (a start or
 * end of 0), records cut short by the end of their buffer, buffers libcupti stopped walking
 * early (a record kind it did not know: the rest of the buffer is lost, uncounted), kernels
 * shipped with name id 0 (the name table was full).
 */
struct gt_gpu_lib_losses_event {
	struct gt_event_header hdr;
	__u64 untimed;
	__u64 truncated;
	__u64 buffers_cut_short;
	__u64 names_overflowed;
	__u32 headers_version; /* CUPTI_API_VERSION of the headers the library was built against */
	__u32 flags;           /* GT_GPU_LAYOUT_UNVERIFIED */
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_lib_losses_event) == 64, "gt_gpu_lib_losses_event layout");
/* Built against headers newer than the record layouts gputrace has checked (docs/cupti.md). */
#define GT_GPU_LAYOUT_UNVERIFIED 1

/*
 * GT_EV_GPU_OVERHEAD: time CUPTI or the driver spent on tracing itself (buffer flushes,
 * instrumentation, resource creation, ...), so the profiler's own cost is on the timeline.
 * hdr.tid is the thread for thread objects.
 */
struct gt_gpu_overhead_event {
	struct gt_event_header hdr; /* ts_ns: start */
	__u64 end_ns;
	__u32 overhead_kind;  /* CUpti_ActivityOverheadKind: 1 compiler, 1<<16 buffer flush, 2<<16 instrumentation, ... */
	__u32 object_kind;    /* CUpti_ActivityObjectKind: 1 process, 2 thread, 3 device, 4 context, 5 stream */
	__u32 device_id;      /* device, context and stream objects; else 0 */
	__u32 correlation_id; /* 0 when CUPTI gives none */
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_overhead_event) == 48, "gt_gpu_overhead_event layout");

/*
 * GT_EV_GPU_GUARDS: cumulative counts of records the library's guards dropped (docs/cupti.md:
 * rate limits, impossible timestamps, the activity buffer cap) and the limits in force. Sent
 * in the same batch as each status record.
 */
struct gt_gpu_guards_event {
	struct gt_event_header hdr;
	__u64 process_rate_limited; /* over GPUTRACE_CUPTI_MAX_RECORDS_PER_S */
	__u64 thread_rate_limited;  /* over GPUTRACE_CUPTI_MAX_THREAD_RECORDS_PER_S */
	__u64 invalid_timestamp;    /* ending > 10 s in the future, or lasting over a day */
	__u64 non_monotonic;        /* starting far before the latest record of its stream */
	__u64 buffers_refused;      /* CUPTI asked for a buffer past GPUTRACE_CUPTI_MAX_BUFFERS */
	__u32 process_limit;        /* records/s, 0: none */
	__u32 thread_limit;         /* records/s, 0: none */
	__u32 device_buffers;       /* CUPTI device buffer pool per context as set, 0: CUPTI's own */
	__u32 max_buffers;
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_guards_event) == 80, "gt_gpu_guards_event layout");

/* GT_EV_GPU_GRAPH: one execution of a CUDA graph (CUPTI GRAPH_TRACE), its nodes not listed. */
struct gt_gpu_graph_event {
	struct gt_event_header hdr; /* ts_ns: start */
	__u64 end_ns;
	__u32 graph_id;
	__u32 device_id;      /* where the first node ran */
	__u32 context_id;
	__u32 stream_id;
	__u32 correlation_id; /* joins the cuGraphLaunch API record */
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_gpu_graph_event) == 56, "gt_gpu_graph_event layout");

#endif /* GPUTRACE_BPF_GPU_H */
