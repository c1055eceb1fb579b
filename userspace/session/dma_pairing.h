// DmaPairing: the daemon's side of pairing DMA mappings in the kernel (bpf/dma_table.bpf.h).
//
// Loads the sweep program (bpf/dma_sweep.bpf.c) against the tracer's shared maps and runs it
// every sweep period: mappings older than the promotion threshold go to userspace as
// GT_EV_DMA_OUTSTANDING, old tombstones are freed. When tracing stops, flush() ships every
// mapping still in the table. counts() reads the per-device, per-CPU DMA-API counters BPF
// keeps and turns each slot that changed into a GT_EV_DMA_COUNTS record.
#pragma once

#include "userspace/host/synthesized.h"
#include "userspace/loader/pairing_config.h"
#include "userspace/loader/shared_maps.h"
#include "userspace/loader/skeleton.h"
#include "userspace/util/result.h"

extern "C" {
#include "bpf/dma.h"
}

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace gputrace {

struct SweepResult {
  uint32_t promoted = 0;
  uint32_t expired = 0;   // tombstones freed
  uint32_t deferred = 0;  // the ring was full: promotion waits for the next sweep
  uint32_t live = 0;      // young mappings left in the table
  uint32_t dead = 0;      // tombstones left
};

class DmaPairing {
 public:
  // Fails when the maps of the dma object are missing (it did not load).
  static Result<DmaPairing> start(const SharedMaps& maps, PairingConfig config);

  enum class Mode : uint64_t { Periodic = 0, All = 2 };  // enum gt_sweep_mode
  Result<SweepResult> sweep(Mode mode = Mode::Periodic);
  // Promotes everything left, calling drain() (which must empty the bulk ring) whenever
  // the ring filled up; gives up after a bounded number of rounds.
  Result<SweepResult> flush(const std::function<void()>& drain);

  // One GT_EV_DMA_COUNTS record per counter slot whose counts changed since the last call.
  Result<std::vector<OwnedRecord>> counts(uint64_t ts);

  const PairingConfig& config() const { return config_; }
  uint64_t sweeps() const { return sweeps_; }
  uint64_t promoted() const { return promoted_; }

 private:
  DmaPairing(Skeleton skel, PairingConfig config) : skel_(std::move(skel)), config_(config) {}

  Skeleton skel_;
  PairingConfig config_;
  int counts_fd_ = -1;
  int slots_fd_ = -1;
  std::vector<gt_dma_counts> last_;  // by slot
  uint64_t sweeps_ = 0;
  uint64_t promoted_ = 0;
};

}  // namespace gputrace
