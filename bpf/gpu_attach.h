/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `gputrace attach --pid PID`: what the tracer and the injection library (cupti/) exchange
 * when the library is brought into a process that is already running.
 *
 * The tracer (userspace/attach/) stops one idle thread of the process with ptrace, maps a
 * small region there (struct gt_attach_block plus the code of userspace/attach/remote_code.S)
 * and makes that thread start a helper thread. The helper dlopen()s the library (or finds it
 * already loaded) and calls its entry point gputrace_cupti_attach(&block->args). Everything
 * after that goes over the library's control socket: an abstract AF_UNIX SOCK_SEQPACKET
 * socket in the process's network namespace, whose name the library publishes in
 * gputrace_cupti_attach_info (an exported variable the tracer reads from the process's
 * memory) and in args.control.
 *
 * The library stays attached while at least one tracer holds a lease: a control connection
 * that asked for one (GT_ATTACH_HELLO with GT_ATTACH_LEASE). When the last lease closes (the
 * tracer exited, however it exited) or a tracer sends GT_ATTACH_DETACH, the library flushes,
 * disables its activity kinds, unsubscribes from CUPTI and stops its thread: it stays mapped,
 * inert, and a later attach starts it again without loading it twice.
 *
 * Not a BPF header: it lives beside bpf/gpu.h because both sides compile it.
 */
#ifndef GPUTRACE_BPF_GPU_ATTACH_H
#define GPUTRACE_BPF_GPU_ATTACH_H

#define GT_ATTACH_ABI 1
#define GT_ATTACH_MAGIC 0x41544754u /* "GTTA", little endian */
#define GT_ATTACH_ENTRY_SYMBOL "gputrace_cupti_attach"
#define GT_ATTACH_INFO_SYMBOL "gputrace_cupti_attach_info"
#define GT_ATTACH_CONTROL_MAX 108     /* sizeof(sockaddr_un.sun_path) */
#define GT_ATTACH_OPTIONS_MAX 1024
#define GT_ATTACH_MESSAGE_MAX 256

/* The library's settings travel as "NAME=VALUE\n" lines with docs/cupti.md's names. */

#ifndef __ASSEMBLER__
#include "common.h"

/* Argument of gputrace_cupti_attach(), and its answer. */
struct gt_attach_args {
	__u32 magic;          /* GT_ATTACH_MAGIC */
	__u16 abi;            /* GT_ATTACH_ABI */
	__u16 size;           /* sizeof(struct gt_attach_args) */
	__u64 seq;            /* the tracer's attach number: answers carry it back */
	__u64 region;         /* where the attach code and block live (kept for the next attach) */
	__u64 region_size;
	__u32 lease_grace_ms; /* detach when no tracer took a lease within this time */
	__u32 tracer_pid;     /* informative */
	char options[GT_ATTACH_OPTIONS_MAX];
	/* written by the library before it returns: */
	__u64 answered_seq;   /* == seq once the fields below are this attach's */
	__s32 state;          /* enum gt_gpu_state (bpf/gpu.h) */
	__s32 cupti_result;   /* CUptiResult of the call that decided state */
	char holder[64];      /* the other CUPTI client's name (GT_GPU_STATE_OTHER_SUBSCRIBER) */
	char message[GT_ATTACH_MESSAGE_MAX];
	char control[GT_ATTACH_CONTROL_MAX]; /* abstract socket name, without its leading NUL */
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_attach_args) == 1512, "gt_attach_args layout");

/* What gputrace_cupti_attach_info holds: read by a tracer that finds the library loaded. */
enum gt_attach_mode {
	GT_ATTACH_MODE_INERT = 0,    /* loaded, not tracing (never started, or detached) */
	GT_ATTACH_MODE_STARTUP = 1,  /* started by CUDA_INJECTION64_PATH at cuInit: always on */
	GT_ATTACH_MODE_ATTACHED = 2, /* started by gputrace attach: control socket open */
};
struct gt_attach_info {
	__u32 magic; /* GT_ATTACH_MAGIC */
	__u16 abi;   /* GT_ATTACH_ABI */
	__u16 mode;  /* enum gt_attach_mode */
	__u64 region;
	__u64 region_size;
	char control[GT_ATTACH_CONTROL_MAX];
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_attach_info) == 136, "gt_attach_info layout");
#endif /* !__ASSEMBLER__ */

/*
 * The block at the start of the attach region's data page. The tracer fills the inputs; the
 * code in the region's first page (trampoline on the stopped thread, helper on the new
 * thread) reads them at the offsets below and writes its progress. remote_code.S uses the
 * GT_ATTACH_OFF_* constants; the asserts keep them true.
 */
#define GT_ATTACH_PENDING 0x7fffffff /* create_rc before pthread_create returned */
/* Helper progress (block.stage). */
#define GT_ATTACH_STAGE_NONE 0
#define GT_ATTACH_STAGE_STARTED 1       /* the helper thread runs */
#define GT_ATTACH_STAGE_DONE 2          /* the entry point returned: see args */
#define GT_ATTACH_STAGE_DLOPEN_FAILED 3 /* see error */
#define GT_ATTACH_STAGE_DLSYM_FAILED 4  /* see error */
#ifndef __ASSEMBLER__
struct gt_attach_block {
	__u32 magic;          /* 0   GT_ATTACH_MAGIC */
	__u32 abi;            /* 4 */
	__u64 seq;            /* 8 */
	__u64 fn_pthread_create; /* 16 */
	__u64 fn_pthread_self;   /* 24 */
	__u64 fn_pthread_detach; /* 32 */
	__u64 fn_dlopen;      /* 40 */
	__u64 fn_dlsym;       /* 48 */
	__u64 fn_dlerror;     /* 56 */
	__u64 fn_close;       /* 64 */
	__u64 entry;          /* 72  the entry when the library is loaded already, else 0 */
	__s64 create_rc;      /* 80  pthread_create's result, GT_ATTACH_PENDING before */
	__u64 thread;         /* 88  the helper's pthread_t */
	__u32 stage;          /* 96  GT_ATTACH_STAGE_* */
	__s32 entry_rc;       /* 100 */
	__s32 close_fd;       /* 104 closed by the helper after dlopen (the memfd copy), or -1 */
	__u32 pad;            /* 108 */
	__u64 handle;         /* 112 dlopen's result */
	char error[256];      /* 120 dlerror() text */
	char path[512];       /* 376 the library, as the process opens it */
	char symbol[64];      /* 888 GT_ATTACH_ENTRY_SYMBOL */
	struct gt_attach_args args; /* 952 */
};
#endif
#define GT_ATTACH_OFF_SEQ 8
#define GT_ATTACH_OFF_PTHREAD_CREATE 16
#define GT_ATTACH_OFF_PTHREAD_SELF 24
#define GT_ATTACH_OFF_PTHREAD_DETACH 32
#define GT_ATTACH_OFF_DLOPEN 40
#define GT_ATTACH_OFF_DLSYM 48
#define GT_ATTACH_OFF_DLERROR 56
#define GT_ATTACH_OFF_CLOSE 64
#define GT_ATTACH_OFF_ENTRY 72
#define GT_ATTACH_OFF_CREATE_RC 80
#define GT_ATTACH_OFF_THREAD 88
#define GT_ATTACH_OFF_STAGE 96
#define GT_ATTACH_OFF_ENTRY_RC 100
#define GT_ATTACH_OFF_CLOSE_FD 104
#define GT_ATTACH_OFF_HANDLE 112
#define GT_ATTACH_OFF_ERROR 120
#define GT_ATTACH_ERROR_MAX 256
#define GT_ATTACH_OFF_PATH 376
#define GT_ATTACH_OFF_SYMBOL 888
#define GT_ATTACH_OFF_ARGS 952
#ifndef __ASSEMBLER__
#define GT_ATTACH_OFFSETOF(t, m) __builtin_offsetof(t, m)
GT_STATIC_ASSERT(GT_ATTACH_OFFSETOF(struct gt_attach_block, create_rc) == GT_ATTACH_OFF_CREATE_RC, "block layout");
GT_STATIC_ASSERT(GT_ATTACH_OFFSETOF(struct gt_attach_block, stage) == GT_ATTACH_OFF_STAGE, "block layout");
GT_STATIC_ASSERT(GT_ATTACH_OFFSETOF(struct gt_attach_block, close_fd) == GT_ATTACH_OFF_CLOSE_FD, "block layout");
GT_STATIC_ASSERT(GT_ATTACH_OFFSETOF(struct gt_attach_block, handle) == GT_ATTACH_OFF_HANDLE, "block layout");
GT_STATIC_ASSERT(GT_ATTACH_OFFSETOF(struct gt_attach_block, error) == GT_ATTACH_OFF_ERROR, "block layout");
GT_STATIC_ASSERT(GT_ATTACH_OFFSETOF(struct gt_attach_block, path) == GT_ATTACH_OFF_PATH, "block layout");
GT_STATIC_ASSERT(GT_ATTACH_OFFSETOF(struct gt_attach_block, symbol) == GT_ATTACH_OFF_SYMBOL, "block layout");
GT_STATIC_ASSERT(GT_ATTACH_OFFSETOF(struct gt_attach_block, args) == GT_ATTACH_OFF_ARGS, "block layout");
GT_STATIC_ASSERT(sizeof(struct gt_attach_block) == GT_ATTACH_OFF_ARGS + sizeof(struct gt_attach_args), "block size");
#endif

#ifndef __ASSEMBLER__
/* Control socket messages (one datagram each). */
enum gt_attach_op {
	GT_ATTACH_HELLO = 1,    /* flags: GT_ATTACH_LEASE, GT_ATTACH_ANNOUNCE; answered with a reply */
	GT_ATTACH_ANNOUNCE = 2, /* send kernel names, devices and status again; answered */
	GT_ATTACH_DETACH = 3,   /* detach now, whoever holds leases; answered, then every lease closes */
};
#define GT_ATTACH_LEASE 1u     /* hold the library attached while this connection is open */
#define GT_ATTACH_REANNOUNCE 2u /* with HELLO: also what GT_ATTACH_ANNOUNCE does */

struct gt_attach_request {
	__u32 magic; /* GT_ATTACH_MAGIC */
	__u16 abi;
	__u16 op;    /* enum gt_attach_op */
	__u32 flags;
	__u32 pad;
};
GT_STATIC_ASSERT(sizeof(struct gt_attach_request) == 16, "gt_attach_request layout");

struct gt_attach_reply {
	__u32 magic;
	__u16 abi;
	__u16 op;          /* the request answered */
	__s32 state;       /* enum gt_gpu_state */
	__s32 cupti_result;
	__u32 leases;      /* leases held now, this one included */
	__u32 pid;         /* getpid() in the process's pid namespace */
	__u64 records;     /* records converted since the library was loaded */
	char holder[64];
	char message[GT_ATTACH_MESSAGE_MAX];
};
GT_STATIC_ASSERT(sizeof(struct gt_attach_reply) == 352, "gt_attach_reply layout");
#endif /* !__ASSEMBLER__ */

#endif /* GPUTRACE_BPF_GPU_ATTACH_H */
