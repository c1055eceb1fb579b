// Decode + track throughput from a capture, on one core: the `gputrace report` path
// (capture reader -> decoder -> engine with its mapping tracker), in events per second.
//
// The capture is generated once per run with the real writer: NVMe-like DMA churn (each
// mapping unmapped a few events later, addresses reused), spread over four devices and
// sixteen processes, with device descriptions and mapping-site stacks as a live run has.
#include "userspace/capture/capture.h"
#include "userspace/pipeline/pipeline.h"
#include "userspace/pipeline/replay.h"
#include "userspace/host/synthesized.h"

extern "C" {
#include "bpf/dma.h"
#include "bpf/proc.h"
}

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

using namespace gputrace;

namespace {

// GPUTRACE_REPLAY_EVENTS overrides (a smaller capture for valgrind's instruction counts)
const uint64_t kEvents = std::getenv("GPUTRACE_REPLAY_EVENTS") ? std::strtoull(std::getenv("GPUTRACE_REPLAY_EVENTS"), nullptr, 10)
                                                               : 2'000'000;

gt_dma_event dma(uint16_t kind, uint64_t ts, uint64_t dev, uint64_t addr, uint32_t pid) {
  gt_dma_event e{};
  fill_user_header(e.hdr, kind, ts, pid);
  e.dev = dev;
  e.dma_addr = addr;
  e.size = 4096;
  e.nents = 1;
  e.stack_id = kind == GT_EV_DMA_MAP ? static_cast<int32_t>(pid % 4) : -1;
  e.api = GT_DMA_PAGE;
  e.dir = 1;
  e.source = GT_SRC_TP_BTF;
  return e;
}

std::string make_capture() {
  std::string path = "/tmp/gputrace-replay-bench-" + std::to_string(getpid()) + ".gtrace";
  unlink(path.c_str());
  auto w = CaptureWriter::create(path, CaptureHostInfo{"bench", "6.18", "", "bench", 0, 0});
  if (!w) return {};
  uint64_t ts = 1'000'000;
  for (uint64_t d = 0; d < 4; ++d) {
    gt_device_event e{};
    fill_user_header(e.hdr, GT_EV_DEVICE, ts++);
    e.dev = 0xffff0000 + d;
    copy_cstr(e.name, "0000:0" + std::to_string(d) + ":00.0");
    copy_cstr(e.bus, "pci");
    e.pci_class = 0x030200;
    e.traced = 1;
    (void)(*w)->append(OwnedRecord::of(e).view());
  }
  for (int32_t s = 0; s < 4; ++s) {
    const uint64_t ips[] = {0xffffffff81000000ull + s, 0xffffffff81000100ull, 0xffffffff81000200ull};
    gt_stack_event e{};
    fill_user_header(e.hdr, GT_EV_STACK, ts++);
    e.stack_id = s;
    e.nr_frames = 3;
    std::string names("dma_map_page_attrs\0nvme_queue_rq\0blk_mq_dispatch\0", 50);
    e.names_len = static_cast<uint32_t>(names.size());
    std::vector<std::byte> tail(3 * sizeof(gt_stack_frame) + names.size());
    for (int i = 0; i < 3; ++i) {
      gt_stack_frame f{ips[i], 0x10, 0};
      std::memcpy(tail.data() + i * sizeof(f), &f, sizeof(f));
    }
    std::memcpy(tail.data() + 3 * sizeof(gt_stack_frame), names.data(), names.size());
    (void)(*w)->append(OwnedRecord::of(e, tail).view());
  }
  // Maps run 8 ahead of their unmaps, round-robin over devices and a reused address window.
  for (uint64_t i = 0; i < kEvents / 2; ++i) {
    const uint64_t dev = 0xffff0000 + i % 4, pid = 1000 + i % 16;
    (void)(*w)->append(OwnedRecord::of(dma(GT_EV_DMA_MAP, ts += 500, dev, 0xfff00000 + (i % 4096) * 4096, pid)).view());
    if (i >= 8) {
      const uint64_t j = i - 8;
      (void)(*w)->append(
          OwnedRecord::of(dma(GT_EV_DMA_UNMAP, ts += 500, 0xffff0000 + j % 4, 0xfff00000 + (j % 4096) * 4096, 0))
              .view());
    }
  }
  (void)(*w)->close();
  return path;
}

void BM_ReplayDecodeTrack(benchmark::State& state) {
  static const std::string path = make_capture();
  uint64_t records = 0;
  for (auto _ : state) {
    auto reader = CaptureReader::open(path);
    if (!reader) state.SkipWithError(reader.error().describe().c_str());
    // The report's analysis (engine and GC statistics) without the report files' timeline.
    Pipeline pipeline({.timeline = false});
    auto summary = feed_capture(**reader, path, pipeline);
    pipeline.finish();
    records = summary ? summary->records : 0;
    benchmark::DoNotOptimize(pipeline.engine().findings().size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(records * state.iterations()));
  state.counters["records"] = static_cast<double>(records);
}
BENCHMARK(BM_ReplayDecodeTrack)->Unit(benchmark::kMillisecond);

// Decode alone: how much of the budget the reader and decoder take.
void BM_ReplayDecodeOnly(benchmark::State& state) {
  static const std::string path = make_capture();
  uint64_t records = 0;
  for (auto _ : state) {
    auto reader = CaptureReader::open(path);
    uint64_t sum = 0;
    auto summary = (*reader)->for_each([&](const Record& r) { sum += r.ts(); });
    benchmark::DoNotOptimize(sum);
    records = summary ? summary->records : 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(records * state.iterations()));
}
BENCHMARK(BM_ReplayDecodeOnly)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
