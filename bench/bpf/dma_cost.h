/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Constants bench/bpf/dma_cost.bpf.c and bench/bpf_cost.cc share. */
#ifndef GPUTRACE_BENCH_DMA_COST_H
#define GPUTRACE_BENCH_DMA_COST_H

/* device keys the benchmark primes into the verdict table (never dereferenced) */
#define BENCH_DEV_TRACED 0xffff888000100000ULL
#define BENCH_DEV_FILTERED 0xffff888000200000ULL
#define BENCH_IOVA_BASE 0xfff00000ULL
#define BENCH_IOVAS 4096

#endif
