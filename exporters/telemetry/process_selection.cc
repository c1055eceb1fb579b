#include "exporters/telemetry/process_selection.h"

#include <algorithm>
#include <map>
#include <vector>

namespace gputrace::telemetry {

ProcessActivity activity_of(const ProcessRow& p) {
  return {.busy_ns = p.gc_pause_ns + p.gpu_kernel_ns + p.memcpy_ns,
          .bytes = p.dma_map_bytes + p.memcpy_bytes,
          .events = p.gc_pauses + p.dma_maps + p.gpu_kernels + p.memcpys + p.memsets + p.findings};
}

void ProcessSelection::update(const HostSnapshot& snapshot) {
  std::map<uint32_t, const ProcessRow*> rows;
  for (const ProcessRow& p : snapshot.processes) rows[p.pid] = &p;
  // a process that left the snapshot has no series to keep
  std::erase_if(named_, [&](uint32_t pid) { return rows.count(pid) == 0; });
  std::erase_if(folded_, [&](uint32_t pid) { return rows.count(pid) == 0; });

  std::vector<const ProcessRow*> candidates;
  size_t live_candidates = 0;
  for (const auto& [pid, row] : rows) {
    if (named_.count(pid)) continue;
    // naming a dead process that is already counted in "other" would only move its counts
    if (row->exited && folded_.count(pid)) continue;
    candidates.push_back(row);
    if (!row->exited) ++live_candidates;
  }
  const size_t free_slots = max_named_ - std::min(max_named_, named_.size());
  if (live_candidates > free_slots) {
    // room is wanted for live processes: free the slots of exited ones, least active first
    std::vector<const ProcessRow*> exited;
    for (uint32_t pid : named_)
      if (rows[pid]->exited) exited.push_back(rows[pid]);
    std::sort(exited.begin(), exited.end(), [](const ProcessRow* a, const ProcessRow* b) {
      const auto ka = activity_of(*a), kb = activity_of(*b);
      return ka != kb ? ka < kb : a->pid > b->pid;
    });
    for (size_t i = 0; i < exited.size() && i < live_candidates - free_slots; ++i) named_.erase(exited[i]->pid);
  }
  // live before exited, then the busiest; ties go to the lower pid so the choice is reproducible
  std::sort(candidates.begin(), candidates.end(), [](const ProcessRow* a, const ProcessRow* b) {
    if (a->exited != b->exited) return !a->exited;
    const auto ka = activity_of(*a), kb = activity_of(*b);
    return ka != kb ? ka > kb : a->pid < b->pid;
  });
  for (const ProcessRow* p : candidates) {
    if (named_.size() < max_named_) {
      named_.insert(p->pid);
      folded_.erase(p->pid);
    }
  }
  for (const auto& [pid, row] : rows)
    if (!named_.count(pid)) folded_.insert(pid);
}

}  // namespace gputrace::telemetry
