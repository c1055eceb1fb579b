/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Process lifecycle: exec, fork, exit, and the /proc snapshot taken at start. */
#ifndef GPUTRACE_BPF_PROC_H
#define GPUTRACE_BPF_PROC_H

#include "common.h"

#define GT_FILENAME_LEN 128

/* GT_EV_PROC_EXEC, and GT_EV_PROC_INFO for processes found in /proc at start. */
struct gt_proc_event {
	struct gt_event_header hdr;
	__u64 start_ns;   /* task start time (CLOCK_MONOTONIC): tells a reused pid apart */
	__u64 cgroup_id;
	__u32 ppid;
	__u32 ns_pid;     /* pid inside the task's own pid namespace */
	__u32 pidns_ino;  /* pid namespace inode */
	__u32 pad;
	char comm[GT_COMM_LEN];
	char filename[GT_FILENAME_LEN];
};
GT_STATIC_ASSERT(sizeof(struct gt_proc_event) == 200, "gt_proc_event layout");

/* GT_EV_PROC_FORK: hdr.pid is the parent. */
struct gt_fork_event {
	struct gt_event_header hdr;
	__u64 child_start_ns;
	__u32 child_pid;
	__u32 pad;
	char comm[GT_COMM_LEN];
};
GT_STATIC_ASSERT(sizeof(struct gt_fork_event) == 56, "gt_fork_event layout");

/* GT_EV_PROC_EXIT: the whole thread group is gone (the last thread exited). */
struct gt_exit_event {
	struct gt_event_header hdr;
	__u64 start_ns;
	__s32 exit_code;
	__u32 pad;
	char comm[GT_COMM_LEN];
};
GT_STATIC_ASSERT(sizeof(struct gt_exit_event) == 56, "gt_exit_event layout");

#endif /* GPUTRACE_BPF_PROC_H */
