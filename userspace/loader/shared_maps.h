// SharedMaps: the rings and loss counters every BPF object writes into, created once.
//
// Each concern's skeleton declares gt_ring_bulk, gt_ring_critical and gt_losses
// (bpf/ring.bpf.h). Between open and load, reuse_in() points them at these maps, so
// every object feeds the same consumer and one loss table.
#pragma once

#include "util/fd.h"
#include "util/result.h"

#include <array>
#include <cstdint>

struct bpf_object;

namespace gputrace {

struct RingSizes {
  uint32_t bulk_bytes = 4u << 20;      // absorbs ~14 ms of consumer stall at 2 M events/s
  uint32_t critical_bytes = 256u << 10;
};

class SharedMaps {
 public:
  static Result<SharedMaps> create(const RingSizes& sizes);

  // Call after <skel>::open() and before <skel>::load().
  Result<void> reuse_in(bpf_object* obj) const;

  int bulk_ring_fd() const { return bulk_.get(); }
  int critical_ring_fd() const { return critical_.get(); }
  int losses_fd() const { return losses_.get(); }

  // Sum over CPUs of every BPF loss counter, indexed by enum gt_loss.
  Result<std::array<uint64_t, 8>> read_losses() const;

 private:
  Fd bulk_, critical_, losses_;
};

}  // namespace gputrace
