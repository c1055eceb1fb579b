// bpf_cost MODE N: cost per event of gputrace's BPF DMA handlers, on getpid() and getppid().
//   MODE none           no BPF: the baseline syscall cost
//   MODE count_only     raw_tp that only counts (the floor of any BPF tracer on that hook)
//   MODE dma_handlers   gputrace's handlers: getpid() runs the map handler (device verdict,
//                       counters, stack of a new site, pairing table), getppid() the unmap
//                       handler, which closes the pair in the kernel
//   MODE dma_unpaired   the same handlers with pairing off (--no-kernel-pairing): every
//                       event crosses the ring, every map takes a kernel stack
//   MODE dma_filtered   getpid() maps on a device outside the filter
// The producer (CPU 0) calls getpid() 1000 times, then getppid() 1000 times (unmapping
// what it mapped), N/1000 times over; a consumer (CPU 1) drains the rings every 1 ms as the
// daemon does. Prints thread-CPU ns per call of each phase, so time the producer sat
// preempted by other tenants of this shared machine is not counted.
// bench/bpf_cost.sh runs every mode and bpftrace in interleaved rounds and reports medians.
#include "bpf/dma_cost.h"
#include "dma_cost.skel.h"
#include "userspace/loader/shared_maps.h"
#include "userspace/loader/skeleton.h"
#include "userspace/ring/consumer.h"

extern "C" {
#include "bpf/common.h"
}

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>

using namespace gputrace;

namespace {

constexpr long kPhase = 1000;  // calls per phase: maps outstanding at most at once

// bpf/device.bpf.h's struct gt_device_verdict (BPF-only there)
struct DeviceVerdict {
  uint8_t traced;
  uint8_t pad;
  uint16_t slot;
  uint32_t pad2;
};
static_assert(sizeof(DeviceVerdict) == 8);

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

// The benchmark's two devices, as the verdict table would hold them after their first event.
bool prime_devices(const SharedMaps& maps) {
  const uint64_t traced = BENCH_DEV_TRACED, filtered = BENCH_DEV_FILTERED;
  const DeviceVerdict yes{1, 0, 0, 0}, no{0, 0, 0xffff, 0};
  const uint64_t next_slot = 1;
  const uint32_t zero = 0, one = 1;
  return bpf_map_update_elem(maps.fd("gt_device_verdicts"), &traced, &yes, BPF_ANY) == 0 &&
         bpf_map_update_elem(maps.fd("gt_device_verdicts"), &filtered, &no, BPF_ANY) == 0 &&
         bpf_map_update_elem(maps.fd("gt_device_slots"), &zero, &next_slot, BPF_ANY) == 0 &&
         bpf_map_update_elem(maps.fd("gt_device_slots"), &one, &traced, BPF_ANY) == 0;
}

struct Loaded {
  std::optional<SharedMaps> maps;
  std::optional<Skeleton> skel;
  bpf_link* link = nullptr;
};

bool load(const std::string& mode, Loaded& out) {
  const std::string program = mode == "dma_unpaired" ? "dma_handlers" : mode;
  auto m = SharedMaps::create(RingSizes{});
  auto s = Skeleton::open(skeleton_ops<dma_cost_bpf>("dma_cost"));
  if (!m || !s) return false;
  out.maps.emplace(std::move(*m));
  out.skel.emplace(std::move(*s));
  bpf_program* prog = out.skel->program(program);
  if (!prog) {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return false;
  }
  bpf_program* p = nullptr;
  bpf_object__for_each_program(p, out.skel->object()) bpf_program__set_autoload(p, p == prog);
  out.skel->set_rodata<uint32_t>("target_tgid", static_cast<uint32_t>(getpid()));
  out.skel->set_rodata<bool>("gt_dma_pairing", mode != "dma_unpaired");
  if (!out.maps->reuse_in(out.skel->object()) || !out.skel->load() || !out.maps->adopt(out.skel->object()))
    return false;
  if (!prime_devices(*out.maps)) {
    std::perror("priming the device verdicts");
    return false;
  }
  out.link = bpf_program__attach_raw_tracepoint(prog, "sys_enter");
  return out.link != nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bpf_cost none|count_only|dma_handlers|dma_unpaired|dma_filtered N\n");
    return 2;
  }
  const std::string mode = argv[1];
  const long n = std::max(std::atol(argv[2]) / kPhase, 1L) * kPhase;
  if (!std::getenv("BPF_COST_VERBOSE")) libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });

  Loaded bpf;
  std::unique_ptr<RingConsumer> consumer;
  std::atomic<uint64_t> delivered{0};
  if (mode != "none") {
    if (!load(mode, bpf)) return 1;
    auto c = RingConsumer::create(bpf.maps->bulk_ring_fd(), bpf.maps->critical_ring_fd(),
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
  double map_ns = 0, unmap_ns = 0;
  for (long round = 0; round < n / kPhase; ++round) {
    const double c0 = thread_cpu_ns();
    for (long i = 0; i < kPhase; ++i) sink += syscall(SYS_getpid);
    const double c1 = thread_cpu_ns();
    for (long i = 0; i < kPhase; ++i) sink += syscall(SYS_getppid);
    const double c2 = thread_cpu_ns();
    map_ns += c1 - c0;
    unmap_ns += c2 - c1;
  }
  done = true;
  drain.join();
  std::array<uint64_t, gputrace::kBpfLossSlots> losses{};
  if (bpf.maps)
    if (auto l = bpf.maps->read_losses()) losses = *l;
  // stderr: bpftrace -c does not pass the child's stdout through
  std::fprintf(stderr,
               "mode=%s n=%ld map_cpu_ns=%.1f unmap_cpu_ns=%.1f delivered=%llu dropped=%llu table_full=%llu "
               "stack_losses=%llu\n",
               mode.c_str(), n, map_ns / n, unmap_ns / n, static_cast<unsigned long long>(delivered.load()),
               static_cast<unsigned long long>(losses[GT_LOSS_RING_FULL_BULK]),
               static_cast<unsigned long long>(losses[GT_LOSS_DMA_TABLE_FULL]),
               static_cast<unsigned long long>(losses[GT_LOSS_STACK]));
  if (bpf.link) bpf_link__destroy(bpf.link);
  return sink == 42;
}
