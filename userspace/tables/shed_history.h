// ShedHistory: what gputrace gave up while its host was under pressure, from the load
// shedder's GT_EV_SHED records (userspace/session/load_shedder.h): the level now, since when
// and why, how often it changed and how long work was shed in all. A replay of a capture
// tells the same story as the live run.
#pragma once

extern "C" {
#include "bpf/host.h"
}

#include <cstdint>
#include <optional>

namespace gputrace {

class ShedHistory {
 public:
  void on_shed(const gt_shed_event& e);

  bool seen() const { return latest_.has_value(); }
  const std::optional<gt_shed_event>& latest() const { return latest_; }
  uint64_t since_ns() const { return since_ns_; }  // when the current level began
  uint64_t changes() const { return changes_; }
  // Time spent at a level above 0 up to now_ns (the current stretch included).
  uint64_t shed_ns(uint64_t now_ns) const;

 private:
  std::optional<gt_shed_event> latest_;
  uint64_t since_ns_ = 0;
  uint64_t changes_ = 0;
  uint64_t closed_shed_ns_ = 0;  // of the stretches that ended
};

}  // namespace gputrace
