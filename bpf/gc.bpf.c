// SPDX-License-Identifier: GPL-2.0
/*
 * GC pauses of managed runtimes, paired in the kernel so that one record leaves per pause.
 *
 *  CPython  USDT python:gc__start(generation) / python:gc__done(collected), same thread.
 *  HotSpot  USDT hotspot:gc__begin(full) / hotspot:gc__end on the VM thread (libjvm.so);
 *           hotspot:mem__pool__gc__begin/end inside them bracket the collection proper.
 *  Go       entry uprobes only: a uretprobe rewrites the return address on the goroutine
 *           stack, and Go moves stacks, so returns would crash the program. A pause runs from
 *           runtime.stopTheWorldWithSema to runtime.startTheWorldWithSema; they may run on
 *           different threads, so the open pause is kept per process. Not every stop is the
 *           collector's: the cause comes from stwReason (Go >= 1.21) or from which GC function
 *           runs inside the pause (gcMarkRootPrepare: sweep termination; gcMarkTermination).
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "gc.h"
#include "ring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* An open CPython collection or HotSpot pause, by thread id. */
struct thread_pause {
	__u64 begin_ns;
	__u64 inner_begin_ns; /* HotSpot: first mem__pool__gc__begin inside the scope */
	__u64 inner_end_ns;   /* HotSpot: last mem__pool__gc__end */
	__u8 generation;
	__u8 flags;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH); /* LRU: a thread that dies mid-pause must not leak */
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct thread_pause);
} gc_thread_pause SEC(".maps");

/* Per Go process: the open stop-the-world and the cycle it belongs to. */
struct go_state {
	__u64 stw_begin_ns; /* 0: no pause open */
	__u64 cycle_begin_ns;
	__u64 cycle_stw_ns;
	__u32 stw_tid;
	__u8 cause;           /* enum gt_gc_cause of the open pause */
	__u8 stw_reason;
	__u8 pending_trigger; /* from the latest gcStart: becomes the next cycle's trigger */
	__u8 cycle_trigger;
	char reason[GT_GC_REASON_LEN]; /* latest runtime.stopTheWorld(reason string) */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct go_state);
} gc_go_state SEC(".maps");

static __always_inline __u32 current_ns_pid(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct pid *pid = BPF_CORE_READ(task, group_leader, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);

	return BPF_CORE_READ(pid, numbers[level].nr);
}

static __always_inline struct gt_gc_pause_event *pause_record(__u64 now, __u64 begin_ns, __u8 runtime)
{
	struct gt_gc_pause_event *e = gt_reserve(&gt_ring_bulk, sizeof(*e));

	if (!e)
		return NULL;
	gt_fill_header(&e->hdr, GT_EV_GC_PAUSE, sizeof(*e));
	e->hdr.ts_ns = now;
	e->begin_ns = begin_ns;
	e->duration_ns = now - begin_ns;
	e->collected = -1;
	e->ns_pid = current_ns_pid();
	e->begin_tid = e->hdr.tid;
	e->runtime = runtime;
	e->cause = GT_GC_CAUSE_COLLECTION;
	e->generation = 0;
	e->flags = 0;
	e->stw_reason = GT_GO_NO_REASON;
	e->span_ns = e->duration_ns;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	__builtin_memset(e->reason, 0, sizeof(e->reason));
	return e;
}

/*
 * Tells userspace a pause is under way (gc.h, GT_EV_GC_BEGIN). When the ring is full the marker
 * is lost and counted (as it is while the daemon sheds load); GPU work of the process is
 * then judged without waiting for the pause.
 */
static __always_inline void begin_marker(__u64 now, __u8 runtime)
{
	struct gt_gc_begin_event *e;

	if (gt_shedding(GT_SHED_GC_MARKERS)) {
		gt_count_loss(GT_LOSS_SHED_GC_BEGIN);
		return;
	}
	e = gt_reserve(&gt_ring_bulk, sizeof(*e));
	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_GC_BEGIN, sizeof(*e));
	e->hdr.ts_ns = now;
	e->runtime = runtime;
	__builtin_memset(e->pad, 0, sizeof(e->pad));
	gt_submit_bulk(e);
}

static __always_inline void thread_pause_begin(__u8 runtime, __u8 generation, __u8 flags)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_pause p = { .begin_ns = bpf_ktime_get_ns(), .generation = generation, .flags = flags };

	p.inner_begin_ns = p.inner_end_ns = 0;

	/*
	 * NOEXIST: the same file probed twice (one image in two containers) fires twice; the
	 * first begin wins. The loader attaches ends before begins, so no begin is left open.
	 */
	if (bpf_map_update_elem(&gc_thread_pause, &tid, &p, BPF_NOEXIST) == 0)
		begin_marker(p.begin_ns, runtime);
}

/* Emits the pause this thread opened; an end without a begin (attached mid-pause) is dropped. */
static __always_inline void thread_pause_end(__u8 runtime, __s64 collected)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_pause *p = bpf_map_lookup_elem(&gc_thread_pause, &tid);
	struct gt_gc_pause_event *e;
	__u64 now;

	if (!p)
		return;
	now = bpf_ktime_get_ns();
	/*
	 * HotSpot times a young pause (-Xlog:gc "Pause Young") inside the scope, around the
	 * memory-pool bracket, but starts a full pause's timer before the scope opens: report the
	 * bracket for the first and the whole scope for the second, each the closest to the JVM's.
	 */
	if (!(p->flags & GT_GC_F_FULL) && p->inner_begin_ns && p->inner_end_ns > p->inner_begin_ns)
		e = pause_record(p->inner_end_ns, p->inner_begin_ns, runtime);
	else
		e = pause_record(now, p->begin_ns, runtime);
	if (e) {
		e->span_ns = now - p->begin_ns;
		e->generation = p->generation;
		e->flags = p->flags;
		e->collected = collected;
		gt_submit_bulk(e);
	}
	bpf_map_delete_elem(&gc_thread_pause, &tid);
}

SEC("usdt")
int BPF_USDT(py_gc_start, int generation)
{
	thread_pause_begin(GT_GC_RT_CPYTHON, (__u8)generation, 0);
	return 0;
}

SEC("usdt")
int BPF_USDT(py_gc_done, long collected)
{
	thread_pause_end(GT_GC_RT_CPYTHON, collected);
	return 0;
}

SEC("usdt")
int BPF_USDT(jvm_gc_begin, int full)
{
	thread_pause_begin(GT_GC_RT_HOTSPOT, 0, full ? GT_GC_F_FULL : 0);
	return 0;
}

/* One per memory pool the collector manages: keep the first begin and the last end. */
SEC("usdt")
int jvm_mem_pool_gc_begin(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_pause *p = bpf_map_lookup_elem(&gc_thread_pause, &tid);

	if (p && !p->inner_begin_ns)
		p->inner_begin_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("usdt")
int jvm_mem_pool_gc_end(struct pt_regs *ctx)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct thread_pause *p = bpf_map_lookup_elem(&gc_thread_pause, &tid);

	if (p)
		p->inner_end_ns = bpf_ktime_get_ns();
	return 0;
}

SEC("usdt")
int BPF_USDT(jvm_gc_end)
{
	thread_pause_end(GT_GC_RT_HOTSPOT, -1);
	return 0;
}

static __always_inline struct go_state *go_state_get(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct go_state *st = bpf_map_lookup_elem(&gc_go_state, &tgid);
	struct go_state fresh = { .pending_trigger = GT_GO_TRIGGER_UNKNOWN,
				  .cycle_trigger = GT_GO_TRIGGER_UNKNOWN };

	if (st)
		return st;
	bpf_map_update_elem(&gc_go_state, &tgid, &fresh, BPF_NOEXIST);
	return bpf_map_lookup_elem(&gc_go_state, &tgid);
}

/* runtime.gcStart(trigger gcTrigger): kind arrives in RAX under the register ABI. */
SEC("uprobe")
int go_gc_start(struct pt_regs *ctx)
{
	struct go_state *st = go_state_get();

	if (st && (bpf_get_attach_cookie(ctx) & GT_GO_COOKIE_REGABI))
		st->pending_trigger = (__u8)ctx->ax;
	return 0;
}

/* runtime.stopTheWorld(reason string) before Go 1.21: RAX = data, RBX = length. */
SEC("uprobe")
int go_stop_the_world(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct go_state *st;
	__u64 len = ctx->bx;

	if (!(cookie & GT_GO_COOKIE_REGABI) || (cookie & GT_GO_COOKIE_STW_REASON))
		return 0;
	st = go_state_get();
	if (!st)
		return 0;
	/* fixed-size read keeps the verifier happy; Go reasons are literals in .rodata */
	if (bpf_probe_read_user(st->reason, GT_GC_REASON_LEN - 1, (const void *)ctx->ax)) {
		st->reason[0] = 0;
		return 0;
	}
	for (int i = 0; i < GT_GC_REASON_LEN; i++)
		if (i >= len)
			st->reason[i] = 0;
	return 0;
}

SEC("uprobe")
int go_stw_begin(struct pt_regs *ctx)
{
	__u64 cookie = bpf_get_attach_cookie(ctx);
	struct go_state *st = go_state_get();
	__u8 reason;

	if (!st || st->stw_begin_ns)
		return 0; /* a second probe on the same file: the first begin wins */
	st->stw_begin_ns = bpf_ktime_get_ns();
	st->stw_tid = (__u32)bpf_get_current_pid_tgid();
	begin_marker(st->stw_begin_ns, GT_GC_RT_GO);
	st->stw_reason = GT_GO_NO_REASON;
	if (cookie & GT_GO_COOKIE_STW_REASON) {
		reason = (__u8)ctx->ax;
		st->stw_reason = reason;
		st->cause = reason == 1 ? GT_GC_CAUSE_GO_MARK_TERM :
			    reason == 2 ? GT_GC_CAUSE_GO_SWEEP_TERM : GT_GC_CAUSE_NOT_GC;
	} else {
		/* a GC function running inside the pause upgrades it (go_marker_*) */
		st->cause = (cookie & GT_GO_COOKIE_MARKERS) ? GT_GC_CAUSE_NOT_GC : GT_GC_CAUSE_UNKNOWN;
	}
	return 0;
}

static __always_inline void go_mark_pause(__u8 cause)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct go_state *st = bpf_map_lookup_elem(&gc_go_state, &tgid);

	if (st && st->stw_begin_ns && st->stw_reason == GT_GO_NO_REASON)
		st->cause = cause;
}

/* runtime.gcMarkRootPrepare: only gcStart calls it, with the world stopped. */
SEC("uprobe")
int go_marker_sweep_term(struct pt_regs *ctx)
{
	go_mark_pause(GT_GC_CAUSE_GO_SWEEP_TERM);
	return 0;
}

/* runtime.gcMarkTermination: runs inside the pause that ends a cycle. */
SEC("uprobe")
int go_marker_mark_term(struct pt_regs *ctx)
{
	go_mark_pause(GT_GC_CAUSE_GO_MARK_TERM);
	return 0;
}

static __always_inline void go_emit_cycle(struct go_state *st, __u64 now)
{
	struct gt_gc_cycle_event *c = gt_reserve(&gt_ring_bulk, sizeof(*c));

	if (!c)
		return;
	gt_fill_header(&c->hdr, GT_EV_GC_CYCLE, sizeof(*c));
	c->hdr.ts_ns = now;
	c->begin_ns = st->cycle_begin_ns;
	c->stw_ns = st->cycle_stw_ns;
	c->ns_pid = current_ns_pid();
	c->runtime = GT_GC_RT_GO;
	c->trigger = st->cycle_trigger;
	c->pad[0] = c->pad[1] = 0;
	gt_submit_bulk(c);
}

SEC("uprobe")
int go_stw_end(struct pt_regs *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct go_state *st = bpf_map_lookup_elem(&gc_go_state, &tgid);
	struct gt_gc_pause_event *e;
	__u64 now = bpf_ktime_get_ns();

	if (!st || !st->stw_begin_ns)
		return 0; /* attached while the world was stopped */
	e = pause_record(now, st->stw_begin_ns, GT_GC_RT_GO);
	if (e) {
		e->begin_tid = st->stw_tid;
		e->cause = st->cause;
		e->stw_reason = st->stw_reason;
		if (st->cause == GT_GC_CAUSE_NOT_GC)
			__builtin_memcpy(e->reason, st->reason, sizeof(e->reason));
		gt_submit_bulk(e);
	}
	if (st->cause == GT_GC_CAUSE_NOT_GC)
		__builtin_memset(st->reason, 0, sizeof(st->reason));
	if (st->cause == GT_GC_CAUSE_GO_SWEEP_TERM) {
		st->cycle_begin_ns = st->stw_begin_ns;
		st->cycle_stw_ns = now - st->stw_begin_ns;
		st->cycle_trigger = st->pending_trigger;
		st->pending_trigger = GT_GO_TRIGGER_UNKNOWN;
	} else if (st->cause == GT_GC_CAUSE_GO_MARK_TERM) {
		st->cycle_stw_ns += now - st->stw_begin_ns;
		go_emit_cycle(st, now);
		st->cycle_begin_ns = 0;
		st->cycle_stw_ns = 0;
		st->cycle_trigger = GT_GO_TRIGGER_UNKNOWN;
	}
	st->stw_begin_ns = 0;
	return 0;
}
