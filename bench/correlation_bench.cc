// Correlation throughput and peak memory: `gputrace report` on a 10 M-event capture that mixes
// what a busy inference host records — DMA-API churn on four strict-mode GPUs, IOMMU unmaps,
// GC pauses of four CPython servers, and their GPU kernels and copies delivered as CUPTI
// batches would be (100-600 ms late, out of order) — on one core.
//
//   correlation_bench [EVENTS] [ROUNDS]     (defaults: 10000000 events, 3 rounds)
//
// Each round replays the capture in a fresh child process (so ru_maxrss is that replay's peak)
// twice, interleaved: with every record, and with the GPU records left out (the kernel-side
// work alone), so the cost of the correlation shows as a ratio measured side by side.
// Rates are per CPU second of the replay. Prints one line per replay and the medians. Measures; asserts nothing.
#include "userspace/capture/capture.h"
#include "userspace/decode/kinds.h"
#include "userspace/pipeline/pipeline.h"
#include "userspace/host/synthesized.h"

extern "C" {
#include "bpf/dma.h"
#include "bpf/gc.h"
#include "bpf/gpu.h"
#include "bpf/host.h"
}

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <vector>

using namespace gputrace;

namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr int kGpus = 4;

struct Writer {
  std::unique_ptr<CaptureWriter> w;
  uint64_t written = 0;
  void put(const OwnedRecord& r) {
    (void)w->append(r.view());
    ++written;
  }
};

std::string make_capture(uint64_t events) {
  std::string path = "/tmp/gputrace-correlation-bench-" + std::to_string(getpid()) + ".gtrace";
  unlink(path.c_str());
  Writer out{std::move(*CaptureWriter::create(path, CaptureHostInfo{"bench", "6.18", "", "bench", 0, 0}))};
  std::mt19937_64 rng(1);
  uint64_t now = 1'000'000'000;
  for (int g = 0; g < kGpus; ++g) {
    const std::string name = "0000:" + std::to_string(17 + g) + ":00.0";
    gt_device_event d{};
    fill_user_header(d.hdr, GT_EV_DEVICE, now);
    d.dev = 0xffff0000 + g;
    copy_cstr(d.name, name);
    copy_cstr(d.driver, "nvidia");
    copy_cstr(d.bus, "pci");
    d.pci_class = 0x030200;
    d.traced = 1;
    out.put(OwnedRecord::of(d));
    gt_device_facts_event f{};
    fill_user_header(f.hdr, GT_EV_DEVICE_FACTS, now);
    copy_cstr(f.name, name);
    f.pci_class = 0x030200;
    f.iommu_mode = GT_IOMMU_STRICT;
    f.link_speed_mts = f.max_link_speed_mts = 32000;
    f.link_width = f.max_link_width = 16;
    out.put(OwnedRecord::of(f));
    gt_gpu_device_event b{};
    fill_user_header(b.hdr, GT_EV_GPU_DEVICE, now, 2000 + g);
    b.pci_bus = 0x17 + g;
    out.put(OwnedRecord::of(b));
  }
  // GPU records wait here until their batch "arrives".
  std::multimap<uint64_t, OwnedRecord> in_flight;
  auto deliver_until = [&](uint64_t t) {
    while (!in_flight.empty() && in_flight.begin()->first <= t) {
      out.put(in_flight.begin()->second);
      in_flight.erase(in_flight.begin());
    }
  };
  auto gpu = [&](const OwnedRecord& r, uint64_t ts) { in_flight.emplace(ts + 100 * kMs + rng() % (500 * kMs), r); };

  uint64_t addr = 0;
  while (out.written + in_flight.size() < events) {
    // one simulated millisecond
    for (int i = 0; i < 8; ++i) {  // DMA-API churn: map now, unmap 50 us later
      const uint64_t dev = 0xffff0000 + i % kGpus, a = 0xfff00000 + (addr++ % 4096) * 4096;
      for (uint16_t kind : {GT_EV_DMA_MAP, GT_EV_DMA_UNMAP}) {
        gt_dma_event e{};
        fill_user_header(e.hdr, kind, now + i * 100'000 + (kind == GT_EV_DMA_UNMAP ? 50'000 : 0), 2000 + i % kGpus);
        e.dev = dev;
        e.dma_addr = a;
        e.size = 4096;
        e.nents = 1;
        e.stack_id = -1;
        e.api = GT_DMA_PAGE;
        e.dir = 1;
        out.put(OwnedRecord::of(e));
      }
    }
    for (int g = 0; g < kGpus; ++g) {
      const uint32_t pid = 2000 + g;
      const bool paused = (now / kMs + g * 5) % 20 == 0;  // a 1 ms GC pause every 20 ms
      if (paused) {
        gt_gc_pause_event p{};
        fill_user_header(p.hdr, GT_EV_GC_PAUSE, now + kMs, pid);
        p.begin_ns = now;
        p.duration_ns = p.span_ns = kMs;
        p.runtime = GT_GC_RT_CPYTHON;
        p.cause = GT_GC_CAUSE_COLLECTION;
        out.put(OwnedRecord::of(p));
        continue;  // the GPU waits for the process
      }
      for (int k = 0; k < 4; ++k) {
        gt_gpu_kernel_event e{};
        fill_user_header(e.hdr, GT_EV_GPU_KERNEL, now + k * 250'000, pid);
        e.end_ns = now + (k + 1) * 250'000;
        e.device_id = 0;
        gpu(OwnedRecord::of(e), e.hdr.ts_ns);
      }
      if ((now / kMs) % 5 == static_cast<uint64_t>(g)) {  // a 16 MiB copy every 5 ms
        gt_gpu_memcpy_event c{};
        fill_user_header(c.hdr, GT_EV_GPU_MEMCPY, now, pid);
        c.bytes = 16 << 20;
        c.end_ns = now + (rng() % 16 == 0 ? 8 * kMs : 400'000);  // 1 in 16 stalls
        c.copy_kind = GT_GPU_COPY_HTOD;
        c.src_kind = 2;
        c.dst_kind = 3;
        gpu(OwnedRecord::of(c), now);
      }
    }
    now += kMs;
    deliver_until(now);
  }
  deliver_until(UINT64_MAX);
  (void)out.w->close();
  return path;
}

struct Round {
  double seconds = 0;  // CPU seconds of the replay
  double wall_seconds = 0;
  uint64_t records = 0;
  uint64_t findings = 0;
  long max_rss_kb = 0;
};

// Replays in a child so its peak RSS is the replay's own.
Round replay_in_child(const std::string& path, bool with_gpu) {
  int fds[2];
  if (pipe(fds) != 0) return {};
  const pid_t child = fork();
  if (child == 0) {
    close(fds[0]);
    Round r;
    const auto t0 = std::chrono::steady_clock::now();
    auto reader = CaptureReader::open(path);
    Pipeline pipeline({.timeline = false});  // the report's analysis, without the report files' timeline
    (void)(*reader)->for_each([&](const Record& rec) {
      if (!with_gpu && is_gpu_activity_kind(rec.header.kind)) return;
      pipeline.push(rec);
      ++r.records;
    });
    pipeline.finish();
    r.wall_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.findings = pipeline.engine().findings().size();
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    // CPU time, not wall time: on a shared machine the wall clock counts other tenants' work
    r.seconds = static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
                static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
    r.max_rss_kb = u.ru_maxrss;
    (void)!write(fds[1], &r, sizeof(r));
    _exit(0);
  }
  close(fds[1]);
  Round r;
  (void)!read(fds[0], &r, sizeof(r));
  close(fds[0]);
  waitpid(child, nullptr, 0);
  return r;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const uint64_t events = argc > 1 ? std::stoull(argv[1]) : 10'000'000;
  const int rounds = argc > 2 ? std::stoi(argv[2]) : 3;
  std::fprintf(stderr, "writing a %llu-event capture ...\n", static_cast<unsigned long long>(events));
  const std::string path = make_capture(events);
  std::vector<double> all_rate, kernel_rate, all_rss, kernel_rss;
  for (int i = 0; i < rounds; ++i) {
    for (bool with_gpu : {true, false}) {
      const Round r = replay_in_child(path, with_gpu);
      const double rate = static_cast<double>(r.records) / r.seconds;
      std::printf("round %d %-12s %10llu records %7.2f s CPU (%.2f s wall) %6.2f M records/s  peak RSS %6.1f MiB  findings %llu\n",
                  i, with_gpu ? "all" : "kernel-only", static_cast<unsigned long long>(r.records), r.seconds, r.wall_seconds,
                  rate / 1e6,
                  static_cast<double>(r.max_rss_kb) / 1024, static_cast<unsigned long long>(r.findings));
      (with_gpu ? all_rate : kernel_rate).push_back(rate);
      (with_gpu ? all_rss : kernel_rss).push_back(static_cast<double>(r.max_rss_kb) / 1024);
    }
  }
  std::printf("median: all records %.2f M/s, peak RSS %.1f MiB; kernel-only %.2f M/s, peak RSS %.1f MiB; "
              "ratio all/kernel-only throughput %.2f\n",
              median(all_rate) / 1e6, median(all_rss), median(kernel_rate) / 1e6, median(kernel_rss),
              median(all_rate) / median(kernel_rate));
  unlink(path.c_str());
  return 0;
}
