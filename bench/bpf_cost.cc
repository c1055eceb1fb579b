// bpf_cost MODE N: cost per event of gputrace's BPF DMA handler, on getpid().
//   MODE none            no BPF: the baseline syscall cost
//   MODE count_only      raw_tp that only counts (the floor of any BPF tracer)
//   MODE dma_unmap_handler gputrace's dma unmap handler: device verdict, record, submit
//   MODE dma_map_handler gputrace's dma map handler: the same plus the kernel stack of the site
// The producer (CPU 0) calls getpid() N times; a consumer (CPU 1) drains the rings every
// 1 ms the way the daemon does. Prints thread-CPU ns per call, so time the producer sat
// preempted by other tenants of this shared machine is not counted.
// bench/bpf_cost.sh runs every mode and bpftrace in interleaved rounds and reports medians.
#include "dma_cost.skel.h"
#include "userspace/loader/shared_maps.h"
#include "userspace/loader/skeleton.h"
#include "userspace/ring/consumer.h"

#include <bpf/libbpf.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <optional>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

using namespace gputrace;

namespace {

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

double thread_cpu_ns() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1e9 + t.tv_nsec;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bpf_cost none|count_only|dma_map_handler N\n");
    return 2;
  }
  const std::string mode = argv[1];
  const long n = std::atol(argv[2]);
  libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });

  std::optional<SharedMaps> maps;
  std::optional<Skeleton> skel;
  bpf_link* link = nullptr;
  std::unique_ptr<RingConsumer> consumer;
  std::atomic<uint64_t> delivered{0};
  if (mode != "none") {
    auto m = SharedMaps::create(RingSizes{});
    auto s = Skeleton::open(skeleton_ops<dma_cost_bpf>("dma_cost"));
    if (!m || !s) return 1;
    maps.emplace(std::move(*m));
    skel.emplace(std::move(*s));
    bpf_program* prog = skel->program(mode);
    if (!prog) {
      std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
      return 2;
    }
    bpf_program* p = nullptr;
    bpf_object__for_each_program(p, skel->object()) bpf_program__set_autoload(p, p == prog);
    skel->set_rodata<uint32_t>("target_tgid", static_cast<uint32_t>(getpid()));
    skel->set_rodata<bool>("gt_all_devices", true);
    if (!maps->reuse_in(skel->object()) || !skel->load()) return 1;
    link = bpf_program__attach_raw_tracepoint(prog, "sys_enter");
    if (!link) return 1;
    auto c = RingConsumer::create(maps->bulk_ring_fd(), maps->critical_ring_fd(),
                                  [&](const Record&) { delivered.fetch_add(1, std::memory_order_relaxed); });
    if (!c) return 1;
    consumer = std::move(*c);
  }
  std::atomic<bool> done{false};
  std::thread drain([&] {
    pin(1);
    while (!done.load()) {
      usleep(1000);
      if (consumer) (void)consumer->drain();
    }
    if (consumer) (void)consumer->drain();
  });
  pin(0);
  long sink = 0;
  const double c0 = thread_cpu_ns();
  for (long i = 0; i < n; ++i) sink += syscall(SYS_getpid);
  const double c1 = thread_cpu_ns();
  done = true;
  drain.join();
  uint64_t dropped = 0;
  if (maps)
    if (auto l = maps->read_losses()) dropped = (*l)[0];
  // stderr: bpftrace -c does not pass the child's stdout through
  std::fprintf(stderr, "mode=%s n=%ld cpu_ns_per_call=%.1f delivered=%llu dropped=%llu\n", mode.c_str(), n, (c1 - c0) / n,
              static_cast<unsigned long long>(delivered.load()), static_cast<unsigned long long>(dropped));
  if (link) bpf_link__destroy(link);
  return sink == 42;
}
