// ProcessTree: a process and every process it forks, followed through the fork and exit
// records of the live stream. `record -- CMD` keeps only its command's GPU activity with it:
// other processes on the host that load the injection library are not what was asked for.
//
// Exact as long as the tree is rooted before its root can fork: the fork records of its
// descendants then always reach on_record() (in stream order) before anything they send.
// A member leaves when its pid is reused outside the tree (a fork record from a non-member
// creates it), not at its exit: its last GPU batch may be read after its exit record.
#pragma once

#include "userspace/decode/record.h"

extern "C" {
#include "bpf/proc.h"
}

#include <cstdint>
#include <unordered_set>

namespace gputrace {

class ProcessTree {
 public:
  explicit ProcessTree(uint32_t root) : root_(root) { members_.insert(root); }

  void on_record(const Record& r) {
    if (r.kind() != GT_EV_PROC_FORK) return;
    const uint32_t child = r.as<gt_fork_event>().child_pid;
    // The root's own creation (by whoever spawned it) usually comes after the tree was rooted.
    if (child == root_) return;
    if (contains(r.header.pid))
      members_.insert(child);
    else
      members_.erase(child);
  }

  bool contains(uint32_t pid) const { return members_.count(pid) != 0; }

 private:
  uint32_t root_;
  std::unordered_set<uint32_t> members_;
};

}  // namespace gputrace
