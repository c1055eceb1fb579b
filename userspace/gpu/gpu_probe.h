// GpuProbe: loads bpf/gpu.bpf.c and attaches it to the gputrace:batch USDT probe of the CUPTI
// injection library, so every batch the library announces lands in the probe's own ring
// (ring_fd(): the caller consumes it next to the shared rings).
//
// Attaching by library path with pid -1 covers every process that maps the library, including
// ones started later; the kernel then sets the probe's semaphore in each of them, which is
// what switches the library from "no work" to sending.
#pragma once

#include "userspace/loader/shared_maps.h"
#include "userspace/util/result.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <array>
#include <cstdint>
#include <memory>
#include <string>

struct gpu_bpf;
struct bpf_link;

namespace gputrace {

class GpuProbe {
 public:
  // pid -1: every process; otherwise only that one.
  static Result<GpuProbe> attach(const SharedMaps& maps, const std::string& library_path, int pid = -1);

  GpuProbe(GpuProbe&&) noexcept;
  GpuProbe& operator=(GpuProbe&&) noexcept;
  ~GpuProbe();

  // The ring the batches arrive in (GT_EV_GPU_BATCH records).
  int ring_fd() const;

  // Per-probe counters (enum gt_gpu_probe_stat), summed over CPUs.
  Result<std::array<uint64_t, GT_GPU_PROBE_STAT_MAX>> read_stats() const;

 private:
  GpuProbe() = default;
  void destroy();

  gpu_bpf* skel_ = nullptr;
  bpf_link* link_ = nullptr;
};

}  // namespace gputrace
