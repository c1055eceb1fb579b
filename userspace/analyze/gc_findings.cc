#include "userspace/analyze/gc_findings.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gputrace {
namespace {

constexpr size_t kExamples = 8;

double ms(uint64_t ns) { return std::round(static_cast<double>(ns) / 1e4) / 100; }

// A full collection: HotSpot marks it. CPython's generation-2 collections are part of its
// normal schedule (due whenever long-lived objects grew by 25 %), and Go's collector has no
// generations: neither is a full collection in the sense users alert on.
bool is_full(const gt_gc_pause_event& p) { return p.runtime == GT_GC_RT_HOTSPOT && (p.flags & GT_GC_F_FULL); }

std::string seconds(uint64_t ns) { return fmt::format("{:.3g}", static_cast<double>(ns) / 1e9); }

}  // namespace

const char* gc_runtime_name(uint8_t runtime) {
  switch (runtime) {
    case GT_GC_RT_CPYTHON: return "cpython";
    case GT_GC_RT_HOTSPOT: return "hotspot";
    case GT_GC_RT_GO: return "go";
    default: return "unknown";
  }
}

std::string gc_pause_kind(const gt_gc_pause_event& p) {
  switch (p.runtime) {
    case GT_GC_RT_CPYTHON: return fmt::format("generation {}", p.generation);
    case GT_GC_RT_HOTSPOT: return (p.flags & GT_GC_F_FULL) ? "full" : "young/mixed/remark";
    case GT_GC_RT_GO:
      if (p.cause == GT_GC_CAUSE_GO_SWEEP_TERM) return "sweep termination";
      if (p.cause == GT_GC_CAUSE_GO_MARK_TERM) return "mark termination";
      return "stop-the-world";
    default: return "pause";
  }
}

void GcFindings::on_pause(const gt_gc_pause_event& p) {
  if (p.cause == GT_GC_CAUSE_NOT_GC) return;
  auto [it, fresh] = procs_.try_emplace(p.hdr.pid);
  Proc& s = it->second;
  if (fresh) s.first_begin_ns = p.begin_ns;
  s.recent.push_back({p.begin_ns, p.duration_ns, gc_pause_kind(p)});
  if (s.recent.size() > kExamples) s.recent.pop_front();
  judge_long(p);
  judge_share(s, p);
  judge_full(s, p);
}

Finding GcFindings::finding(FindingKind kind, const gt_gc_pause_event& p, uint64_t start_ns) const {
  Finding f;
  f.kind = kind;
  f.severity = Severity::Warning;
  f.start_ns = start_ns;
  f.end_ns = p.hdr.ts_ns;
  f.pid = p.hdr.pid;
  const ProcessInfo* proc = processes_.latest(p.hdr.pid);
  if (proc) f.comm = proc->comm;
  f.evidence["runtime"] = gc_runtime_name(p.runtime);
  f.evidence["pid"] = p.hdr.pid;
  f.evidence["ns_pid"] = p.ns_pid;
  f.evidence["comm"] = f.comm;
  f.evidence["exe"] = proc ? proc->exe : "";
  f.evidence["cgroup_id"] = proc ? proc->cgroup_id : 0;
  return f;
}

nlohmann::ordered_json GcFindings::examples(const std::deque<Recent>& pauses) {
  auto out = nlohmann::ordered_json::array();
  for (const Recent& r : pauses)
    out.push_back({{"begin_ns", r.begin_ns}, {"duration_ns", r.duration_ns}, {"kind", r.kind}});
  return out;
}

void GcFindings::judge_long(const gt_gc_pause_event& p) {
  if (p.duration_ns <= config_.pause_long_ns) return;
  Finding f = finding(FindingKind::gc_pause_long, p, p.begin_ns);
  f.message = fmt::format("{} GC pause of {} ms in {} (pid {}), over the {} ms threshold", gc_pause_kind(p),
                          ms(p.duration_ns), f.comm.empty() ? gc_runtime_name(p.runtime) : f.comm, p.hdr.pid,
                          ms(config_.pause_long_ns));
  f.evidence["duration_ns"] = p.duration_ns;
  f.evidence["kind"] = gc_pause_kind(p);
  f.evidence["threshold_ns"] = config_.pause_long_ns;
  f.evidence["pauses"] = nlohmann::ordered_json::array(
      {{{"begin_ns", p.begin_ns}, {"duration_ns", p.duration_ns}, {"kind", gc_pause_kind(p)}}});
  findings_.add(std::move(f));
}

// The share is judged at each pause's end (where the sliding share peaks), once the process
// has been seen for a whole window; one finding per episode above the threshold.
void GcFindings::judge_share(Proc& s, const gt_gc_pause_event& p) {
  const uint64_t window = std::max<uint64_t>(config_.share_window_ns, kBins);
  const uint64_t width = window / kBins;
  const uint64_t now = p.hdr.ts_ns, bin = now / width;
  const size_t slot = bin % kBins;
  if (s.bin_index[slot] != bin) s.bin_index[slot] = bin, s.bin_ns[slot] = 0, s.bin_count[slot] = 0;
  s.bin_ns[slot] += p.duration_ns;
  ++s.bin_count[slot];
  if (now < s.first_begin_ns + window) return;  // not a whole window of this process yet
  uint64_t paused = 0, pauses = 0;
  for (size_t i = 0; i < kBins; ++i)
    if (s.bin_index[i] + kBins > bin && s.bin_index[i] <= bin) paused += s.bin_ns[i], pauses += s.bin_count[i];
  const double share = static_cast<double>(paused) / static_cast<double>(window);
  if (share <= config_.share_fraction) {
    s.share_firing = false;
    return;
  }
  if (s.share_firing) return;
  s.share_firing = true;
  Finding f = finding(FindingKind::gc_share_high, p, now - window);
  f.message = fmt::format("{} (pid {}) spent {:.1f}% of the last {} s in GC pauses ({} pauses, {} ms), over the "
                          "{:.0f}% threshold",
                          f.comm.empty() ? gc_runtime_name(p.runtime) : f.comm, p.hdr.pid, 100 * share,
                          seconds(window), pauses, ms(paused), 100 * config_.share_fraction);
  f.evidence["share"] = share;
  f.evidence["paused_ns"] = paused;
  f.evidence["pause_count"] = pauses;
  f.evidence["window_ns"] = window;
  f.evidence["threshold"] = config_.share_fraction;
  f.evidence["pauses"] = examples(s.recent);
  findings_.add(std::move(f));
}

void GcFindings::judge_full(Proc& s, const gt_gc_pause_event& p) {
  if (!is_full(p)) return;
  const uint64_t now = p.hdr.ts_ns;
  s.fulls.push_back({p.begin_ns, p.duration_ns, gc_pause_kind(p)});
  const size_t keep = std::clamp<size_t>(config_.full_count, 1, kExamples);
  while (s.fulls.size() > keep || s.fulls.front().begin_ns + config_.full_window_ns < now) s.fulls.pop_front();
  if (s.fulls.size() < config_.full_count) {  // (full_count above kExamples: never reached; checked by the option)
    s.full_firing = false;
    return;
  }
  if (s.full_firing) return;
  s.full_firing = true;
  const uint64_t first = s.fulls.front().begin_ns;
  Finding f = finding(FindingKind::gc_full_repeated, p, first);
  f.message = fmt::format("{} (pid {}) ran {} full collections within {} s (threshold: {} in {} s)",
                          f.comm.empty() ? gc_runtime_name(p.runtime) : f.comm, p.hdr.pid, s.fulls.size(),
                          seconds(now - first), config_.full_count, seconds(config_.full_window_ns));
  f.evidence["full_collections"] = s.fulls.size();
  f.evidence["span_ns"] = now - first;
  f.evidence["window_ns"] = config_.full_window_ns;
  f.evidence["threshold"] = config_.full_count;
  f.evidence["pauses"] = examples(s.fulls);
  findings_.add(std::move(f));
}

}  // namespace gputrace
