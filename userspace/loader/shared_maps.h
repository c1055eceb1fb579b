// SharedMaps: the maps every BPF object shares, so all concerns feed one consumer.
//
// Any map whose name starts with "gt_" is shared: the rings and loss counters are created
// up front (their sizes are options); any other gt_ map (device verdicts, stacks, ...) is
// adopted from the first object that creates it. Between <skel>::open() and load(),
// reuse_in() points an object's gt_ maps at the shared ones; after load, adopt() registers
// the gt_ maps it created.
#pragma once

#include "userspace/util/fd.h"
#include "userspace/util/result.h"

#include <array>
#include <cstdint>
#include <map>
#include <string>

struct bpf_object;

namespace gputrace {

inline constexpr size_t kBpfLossSlots = 16;  // GT_LOSS_BPF_MAX, checked in shared_maps.cc

struct RingSizes {
  uint32_t bulk_bytes = 4u << 20;      // absorbs ~14 ms of consumer stall at 2 M events/s
  uint32_t critical_bytes = 256u << 10;
};

class SharedMaps {
 public:
  static Result<SharedMaps> create(const RingSizes& sizes);

  Result<void> reuse_in(bpf_object* obj) const;  // after open, before load
  Result<void> adopt(bpf_object* obj);           // after load

  int fd(const std::string& name) const;  // -1 when no object declared it
  int bulk_ring_fd() const { return fd("gt_ring_bulk"); }
  int critical_ring_fd() const { return fd("gt_ring_critical"); }
  int losses_fd() const { return fd("gt_losses"); }

  // Sum over CPUs of every BPF loss counter, indexed by enum gt_loss.
  Result<std::array<uint64_t, kBpfLossSlots>> read_losses() const;
  // Sets the load-shedding switches every BPF object reads (enum gt_shed_flags); fails when
  // no object declared gt_shed.
  Result<void> set_shed_flags(uint32_t flags) const;

 private:
  std::map<std::string, Fd> maps_;
};

}  // namespace gputrace
