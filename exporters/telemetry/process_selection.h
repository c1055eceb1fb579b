// ProcessSelection: which processes get their own series, so that label cardinality stays
// bounded on a host that runs thousands of short-lived processes. At most `max_named`
// processes are named; the rest are folded into one group ("other") whose counters are the
// sums of its members'.
//
// The choice is sticky, because Prometheus reads a counter that goes down as a reset: a named
// process stays named while it lives. A slot frees when a named process leaves the snapshot,
// or when it has exited and a live process wants the slot (a replay whose processes have all
// exited still names them when they fit). Free slots go to live processes before exited
// ones, then to the most active (activity: GC pause time + GPU kernel time + copy time, then
// bytes mapped and copied, then event counts), then to the lower pid. An exited process
// already folded stays folded. A live folded process that is promoted takes its counts out
// of "other"; that happens only after a named process exited, and docs/metrics.md says so.
//
//   ProcessSelection sel(20);
//   sel.update(snapshot);         // once per snapshot, before rendering
//   if (sel.named(pid)) ...
#pragma once

#include "userspace/model/host_snapshot.h"

#include <cstddef>
#include <cstdint>
#include <set>

namespace gputrace::telemetry {

class ProcessSelection {
 public:
  explicit ProcessSelection(size_t max_named) : max_named_(max_named) {}

  void update(const HostSnapshot& snapshot);
  bool named(uint32_t pid) const { return named_.count(pid) > 0; }
  size_t named_count() const { return named_.size(); }
  size_t max_named() const { return max_named_; }

 private:
  size_t max_named_;
  std::set<uint32_t> named_;
  std::set<uint32_t> folded_;  // counted in "other" at the last update
};

// Ordering key of process activity (larger is busier); exposed for the tests and docs.
struct ProcessActivity {
  uint64_t busy_ns = 0;
  uint64_t bytes = 0;
  uint64_t events = 0;
  auto operator<=>(const ProcessActivity&) const = default;
};
ProcessActivity activity_of(const ProcessRow& p);

}  // namespace gputrace::telemetry
