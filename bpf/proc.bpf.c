// SPDX-License-Identifier: GPL-2.0
/*
 * Process lifecycle collector: exec, fork (new processes, not threads) and exit of a whole
 * thread group. These name the owners of DMA mappings and tell when an owner is gone.
 * tp_btf is the live flavour; raw_tp is the fallback and what tests drive.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "proc.h"
#include "ring.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Pid as seen inside the task's own pid namespace, and that namespace's inode. */
static __always_inline void ns_identity(struct task_struct *task, __u32 *ns_pid, __u32 *ns_ino)
{
	struct pid *pid = BPF_CORE_READ(task, thread_pid);
	unsigned int level = BPF_CORE_READ(pid, level);

	*ns_pid = BPF_CORE_READ(pid, numbers[level].nr);
	*ns_ino = BPF_CORE_READ(pid, numbers[level].ns, ns.inum);
}

static __always_inline void on_exec(struct task_struct *task, struct linux_binprm *bprm)
{
	struct gt_proc_event *e = gt_reserve(&gt_ring_critical, sizeof(*e));

	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_PROC_EXEC, sizeof(*e));
	e->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	ns_identity(task, &e->ns_pid, &e->pidns_ino);
	e->pad = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	gt_submit_critical(e);
}

static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child)
{
	struct gt_fork_event *e;

	if (BPF_CORE_READ(child, pid) != BPF_CORE_READ(child, tgid))
		return; /* a new thread, not a new process */
	e = gt_reserve(&gt_ring_critical, sizeof(*e));
	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_PROC_FORK, sizeof(*e));
	e->hdr.pid = BPF_CORE_READ(parent, tgid);
	e->child_start_ns = BPF_CORE_READ(child, start_time);
	e->child_pid = BPF_CORE_READ(child, tgid);
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, child, comm);
	gt_submit_critical(e);
}

static __always_inline void on_exit(struct task_struct *task)
{
	struct gt_exit_event *e;

	/* signal->live drops before this tracepoint: zero means the last thread is leaving */
	if (BPF_CORE_READ(task, signal, live.counter) != 0)
		return;
	e = gt_reserve(&gt_ring_critical, sizeof(*e));
	if (!e)
		return;
	gt_fill_header(&e->hdr, GT_EV_PROC_EXIT, sizeof(*e));
	e->hdr.pid = BPF_CORE_READ(task, tgid);
	e->hdr.tid = BPF_CORE_READ(task, pid);
	e->start_ns = BPF_CORE_READ(task, group_leader, start_time);
	e->exit_code = BPF_CORE_READ(task, exit_code);
	e->pad = 0;
	BPF_CORE_READ_STR_INTO(&e->comm, task, comm);
	gt_submit_critical(e);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(proc_exec_tp_btf, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(p, bprm);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(proc_exec_raw_tp, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(p, bprm);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(proc_fork_tp_btf, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(proc_fork_raw_tp, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

/* 6.18 added a group_dead argument; only the first one is read so both shapes work */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(proc_exit_tp_btf, struct task_struct *p)
{
	on_exit(p);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(proc_exit_raw_tp, struct task_struct *p)
{
	on_exit(p);
	return 0;
}
