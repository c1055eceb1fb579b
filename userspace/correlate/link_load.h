// LinkLoad: the host<->device copies in flight on each PCIe link and direction, so that a
// copy is judged by what its link carried while it ran, not by its own bandwidth alone.
// Two copies on two streams sharing a link at 12 GB/s each are a busy link, not two stalls.
//
// Copies are added as the correlator receives them (in start order) and looked up when one
// is judged, which happens only once every copy starting before its end has been added.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <utility>

namespace gputrace {

class LinkLoad {
 public:
  // A link: the PCI device's DeviceTable index when known, else the CUDA device id of a
  // process whose GPU gputrace does not know (bound = false).
  struct Link {
    bool bound = true;
    uint32_t id = 0;
    bool to_device = true;
    auto operator<=>(const Link&) const = default;
  };
  struct Load {
    double bytes = 0;         // moved over the link during the interval, copies prorated by overlap
    uint32_t copies = 0;      // copies that overlapped the interval
  };

  static constexpr size_t kMaxCopiesPerLink = 65536;

  void add(const Link& link, uint64_t start_ns, uint64_t end_ns, uint64_t bytes);
  Load during(const Link& link, uint64_t begin_ns, uint64_t end_ns) const;
  // Drops the copies that ended before ts: nothing judged from now on starts earlier.
  void forget_before(uint64_t ts);
  uint64_t dropped() const { return dropped_; }  // over kMaxCopiesPerLink: not counted as load

 private:
  struct Copy {
    uint64_t start_ns;
    uint64_t end_ns;
    uint64_t bytes;
  };
  struct Copies {
    std::deque<Copy> by_start;
    uint64_t longest_ns = 0;  // bounds how far back an overlapping copy can start
  };
  std::map<Link, Copies> in_flight_;
  uint64_t dropped_ = 0;
};

}  // namespace gputrace
