/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Garbage-collector pauses of managed runtimes (CPython, HotSpot, Go), measured in the kernel:
 * the begin timestamp waits in a BPF map and one record leaves per finished pause.
 */
#ifndef GPUTRACE_BPF_GC_H
#define GPUTRACE_BPF_GC_H

#include "common.h"

enum gt_gc_runtime {
	GT_GC_RT_NONE = 0,
	GT_GC_RT_CPYTHON = 1,
	GT_GC_RT_HOTSPOT = 2,
	GT_GC_RT_GO = 3,
};

/* What stopped the program. Only GT_GC_CAUSE_NOT_GC pauses are not the collector's. */
enum gt_gc_cause {
	GT_GC_CAUSE_UNKNOWN = 0,    /* a Go STW whose trigger could not be told (markers missing) */
	GT_GC_CAUSE_COLLECTION = 1, /* CPython collection; HotSpot GC pause (young, mixed, full, remark...) */
	GT_GC_CAUSE_GO_SWEEP_TERM = 2, /* Go: the STW that starts a cycle (sweep termination) */
	GT_GC_CAUSE_GO_MARK_TERM = 3,  /* Go: the STW that ends a cycle (mark termination) */
	GT_GC_CAUSE_NOT_GC = 4,     /* Go: STW for ReadMemStats, GOMAXPROCS, traces, profiles... */
};

/* gt_gc_pause_event.flags */
#define GT_GC_F_FULL 0x1 /* HotSpot: a full collection */

/* Go STW reasons as runtime.stwReason numbers them since Go 1.21 (GT_GO_NO_REASON before). */
#define GT_GO_NO_REASON 0xff
#define GT_GC_REASON_LEN 24

/*
 * GT_EV_GC_PAUSE. hdr.ts_ns is the end of the pause; hdr.tid the thread that ended it.
 * HotSpot: for a young/mixed pause, begin/end bracket the collection itself (the first
 * hotspot:mem__pool__gc__begin to the last mem__pool__gc__end, the part -Xlog:gc's timer
 * encloses); for a full pause, the whole gc__begin .. gc__end scope (which -Xlog:gc's
 * "Pause Full" timer encloses). span_ns is always the whole scope, which adds the heap
 * printing, tracing and verification around a young collection.
 */
struct gt_gc_pause_event {
	struct gt_event_header hdr;
	__u64 begin_ns;
	__u64 duration_ns;
	__s64 collected;  /* CPython: objects collected + uncollectable; -1 elsewhere */
	__u32 ns_pid;     /* pid inside the process's own pid namespace */
	__u32 begin_tid;  /* thread that began the pause (Go: the stopper; may differ from hdr.tid) */
	__u8 runtime;     /* enum gt_gc_runtime */
	__u8 cause;       /* enum gt_gc_cause */
	__u8 generation;  /* CPython: generation collected (0..2); others 0 */
	__u8 flags;       /* GT_GC_F_* */
	__u8 stw_reason;  /* Go >= 1.21: runtime.stwReason; GT_GO_NO_REASON otherwise */
	__u8 pad[3];
	char reason[GT_GC_REASON_LEN]; /* Go < 1.21: runtime.stopTheWorld's reason string */
	__u64 span_ns;    /* HotSpot: the whole gc__begin..gc__end scope; others: duration_ns */
};
GT_STATIC_ASSERT(sizeof(struct gt_gc_pause_event) == 96, "gt_gc_pause_event layout");

/*
 * GT_EV_GC_BEGIN. hdr.ts_ns is when the pause (or CPython collection, or Go stop-the-world of
 * any cause) began. A pause is reported when it ends, which for a multi-second full GC is
 * long after the GPU work it stalled: this marker tells the correlation that a pause of the
 * process is under way, so GPU activity of that process waits for its end before being judged.
 */
struct gt_gc_begin_event {
	struct gt_event_header hdr;
	__u8 runtime;     /* enum gt_gc_runtime */
	__u8 pad[7];
};
GT_STATIC_ASSERT(sizeof(struct gt_gc_begin_event) == 32, "gt_gc_begin_event layout");

/* Go gcTrigger.kind: what started a cycle. */
enum gt_go_gc_trigger {
	GT_GO_TRIGGER_HEAP = 0,  /* heap reached the pacer's goal */
	GT_GO_TRIGGER_TIME = 1,  /* forced: no GC for 2 minutes */
	GT_GO_TRIGGER_CYCLE = 2, /* runtime.GC() / debug.FreeOSMemory() */
	GT_GO_TRIGGER_UNKNOWN = 0xff,
};

/* GT_EV_GC_CYCLE. hdr.ts_ns is the end of the cycle's mark-termination pause. */
struct gt_gc_cycle_event {
	struct gt_event_header hdr;
	__u64 begin_ns;  /* start of the sweep-termination pause; 0 when tracing began mid-cycle */
	__u64 stw_ns;    /* both pauses of the cycle, as far as they were seen */
	__u32 ns_pid;
	__u8 runtime;    /* enum gt_gc_runtime (GT_GC_RT_GO) */
	__u8 trigger;    /* enum gt_go_gc_trigger */
	__u8 pad[2];
};
GT_STATIC_ASSERT(sizeof(struct gt_gc_cycle_event) == 48, "gt_gc_cycle_event layout");

/*
 * Attach cookies of the Go uprobes: what the loader learned about the binary, so one BPF
 * program serves every Go version.
 */
#define GT_GO_COOKIE_REGABI 0x1     /* Go >= 1.17: arguments in RAX, RBX, RCX, ... */
#define GT_GO_COOKIE_STW_REASON 0x2 /* Go >= 1.21: stopTheWorld*(reason stwReason uint8) */
#define GT_GO_COOKIE_MARKERS 0x4    /* gcResetMarkState and gcMarkTermination are probed */

#endif /* GPUTRACE_BPF_GC_H */
