// GcFindings: the garbage-collector conditions users alert on, judged per process from its
// pause records on the event clock (docs/findings.md): gc_pause_long (one pause over a
// threshold), gc_share_high (pauses take too large a share of wall time over a sliding
// window), gc_full_repeated (several full collections within a window).
//
// Memory per process is bounded: the share is kept in 60 bins of window/60 (a pause counts in
// the bin where it ends), the full collections as their last `full_count` end times.
#pragma once

#include "userspace/model/analysis_config.h"
#include "userspace/model/finding.h"
#include "userspace/tables/process_table.h"

extern "C" {
#include "bpf/gc.h"
}

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <string>

namespace gputrace {

class GcFindings {
 public:
  GcFindings(const GcFindingConfig& config, const ProcessTable& processes, FindingSink& findings)
      : config_(config), processes_(processes), findings_(findings) {}

  // Every GT_EV_GC_PAUSE, in time order; stops that are not the collector's are ignored.
  void on_pause(const gt_gc_pause_event& p);

  uint64_t processes_tracked() const { return procs_.size(); }

 private:
  static constexpr size_t kBins = 60;
  struct Recent {  // a pause kept as an example
    uint64_t begin_ns, duration_ns;
    std::string kind;
  };
  struct Proc {
    uint64_t first_begin_ns = 0;
    std::array<uint64_t, kBins> bin_ns{};     // pause time ending in each bin
    std::array<uint64_t, kBins> bin_count{};
    std::array<uint64_t, kBins> bin_index{};  // which absolute bin each slot holds
    std::deque<Recent> fulls;                 // the last full_count full collections
    std::deque<Recent> recent;                // the last few pauses, for evidence
    bool share_firing = false;
    bool full_firing = false;
  };

  void judge_long(const gt_gc_pause_event& p);
  void judge_share(Proc& s, const gt_gc_pause_event& p);
  void judge_full(Proc& s, const gt_gc_pause_event& p);
  Finding finding(FindingKind kind, const gt_gc_pause_event& p, uint64_t start_ns) const;
  static nlohmann::ordered_json examples(const std::deque<Recent>& pauses);

  const GcFindingConfig& config_;
  const ProcessTable& processes_;
  FindingSink& findings_;
  std::map<uint32_t, Proc> procs_;
};

// "young/mixed", "full", "generation 2", "sweep termination"...: what kind of pause it was.
std::string gc_pause_kind(const gt_gc_pause_event& p);
const char* gc_runtime_name(uint8_t runtime);

}  // namespace gputrace
