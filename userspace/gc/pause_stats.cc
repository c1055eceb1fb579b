#include "userspace/gc/pause_stats.h"

extern "C" {
#include "bpf/gc.h"
}

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace gputrace::gc {
namespace {

// runtime.stwReasonStrings (Go 1.21+), indexed by stwReason.
constexpr std::array<const char*, 17> kStwReasons = {
    "unknown",           "GC mark termination",    "GC sweep termination",   "write heap dump",
    "goroutine profile", "goroutine profile cleanup", "all goroutines stack trace", "read mem stats",
    "AllThreadsSyscall", "GOMAXPROCS",             "start trace",            "stop trace",
    "CountPagesInUse (test)", "ReadMetricsSlow (test)", "ReadMemStatsSlow (test)", "PageCachePagesLeaked (test)",
    "ResetDebugLog (test)"};

Runtime runtime_of(uint8_t wire) {
  switch (wire) {
    case GT_GC_RT_CPYTHON: return Runtime::CPython;
    case GT_GC_RT_HOTSPOT: return Runtime::HotSpot;
    case GT_GC_RT_GO: return Runtime::Go;
    default: return Runtime::None;
  }
}

std::string ms(uint64_t ns) { return fmt::format("{:.3f}ms", static_cast<double>(ns) / 1e6); }

}  // namespace

std::string go_stw_reason(uint8_t stw_reason, const char* text, size_t text_len) {
  if (stw_reason != GT_GO_NO_REASON)
    return stw_reason < kStwReasons.size() ? kStwReasons[stw_reason] : fmt::format("stwReason {}", stw_reason);
  const std::string s(text, strnlen(text, text_len));
  return s.empty() ? "unknown" : s;
}

void PauseStats::on_record(const Record& r) {
  if (r.kind() != static_cast<gt_event_kind>(GT_EV_GC_PAUSE) && r.kind() != static_cast<gt_event_kind>(GT_EV_GC_CYCLE))
    return;
  if (first_ns_ == 0 || r.ts() < first_ns_) first_ns_ = r.ts();
  last_ns_ = std::max(last_ns_, r.ts());
  if (r.kind() == static_cast<gt_event_kind>(GT_EV_GC_PAUSE))
    on_pause(r);
  else
    on_cycle(r);
}

void PauseStats::on_pause(const Record& r) {
  const auto e = r.as<gt_gc_pause_event>();
  if (e.begin_ns && e.begin_ns < first_ns_) first_ns_ = e.begin_ns;
  PerProcess& p = procs_[static_cast<int>(e.hdr.pid)];
  p.ns_pid = static_cast<int>(e.ns_pid);
  p.runtime = runtime_of(e.runtime);
  if (e.cause == GT_GC_CAUSE_NOT_GC) {
    p.non_gc.add(e.duration_ns);
    ++p.reasons[go_stw_reason(e.stw_reason, e.reason, sizeof(e.reason))];
    return;
  }
  p.gc.add(e.duration_ns);
  if (e.flags & GT_GC_F_FULL) ++p.full;
  if ((e.flags & GT_GC_F_FULL) || (e.runtime == GT_GC_RT_CPYTHON && e.generation == 2)) ++p.full_collections;
  if (e.cause == GT_GC_CAUSE_UNKNOWN) ++p.unclassified;
}

void PauseStats::on_cycle(const Record& r) {
  const auto e = r.as<gt_gc_cycle_event>();
  PerProcess& p = procs_[static_cast<int>(e.hdr.pid)];
  p.ns_pid = static_cast<int>(e.ns_pid);
  p.runtime = runtime_of(e.runtime);
  ++p.cycles;
}

void PauseStats::set_window(uint64_t begin_ns, uint64_t end_ns) {
  window_begin_ = begin_ns;
  window_end_ = end_ns;
}

std::vector<ProcessPauseSummary> PauseStats::summary() const {
  const uint64_t begin = window_end_ ? window_begin_ : first_ns_;
  const uint64_t end = window_end_ ? window_end_ : last_ns_;
  const double wall = end > begin ? static_cast<double>(end - begin) : 0.0;
  std::vector<ProcessPauseSummary> out;
  for (const auto& [pid, p] : procs_) {
    ProcessPauseSummary s{.pid = pid, .ns_pid = p.ns_pid, .runtime = p.runtime};
    s.count = p.gc.count();
    s.total_ns = p.gc.total();
    s.max_ns = p.gc.max();
    s.p50_ns = p.gc.percentile(0.50);
    s.p90_ns = p.gc.percentile(0.90);
    s.p99_ns = p.gc.percentile(0.99);
    s.wall_share = wall > 0 ? static_cast<double>(s.total_ns) / wall : 0.0;
    s.full_count = p.full;
    s.full_collections = p.full_collections;
    s.unclassified = p.unclassified;
    s.cycles = p.cycles;
    s.non_gc_count = p.non_gc.count();
    s.non_gc_total_ns = p.non_gc.total();
    s.non_gc_max_ns = p.non_gc.max();
    s.non_gc_reasons = p.reasons;
    out.push_back(std::move(s));
  }
  return out;
}

const DurationHistogram* PauseStats::gc_histogram(int pid) const {
  auto it = procs_.find(pid);
  return it == procs_.end() ? nullptr : &it->second.gc;
}

std::string PauseStats::format_text() const {
  std::string out = fmt::format("{:>8} {:>8} {:<8} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>7}\n", "PID", "NSPID",
                                "RUNTIME", "PAUSES", "TOTAL", "MAX", "P50", "P90", "P99", "WALL%");
  for (const auto& s : summary()) {
    out += fmt::format("{:>8} {:>8} {:<8} {:>7} {:>11} {:>11} {:>11} {:>11} {:>11} {:>6.2f}%\n", s.pid,
                       s.ns_pid != s.pid ? std::to_string(s.ns_pid) : "-", runtime_name(s.runtime), s.count,
                       ms(s.total_ns), ms(s.max_ns), ms(s.p50_ns), ms(s.p90_ns), ms(s.p99_ns), 100.0 * s.wall_share);
    if (s.cycles) out += fmt::format("{:>18} GC cycles: {}\n", "", s.cycles);
    if (s.full_count) out += fmt::format("{:>18} full collections: {}\n", "", s.full_count);
    if (s.unclassified) out += fmt::format("{:>18} stop-the-worlds of unknown cause: {}\n", "", s.unclassified);
    if (s.non_gc_count) {
      std::string reasons;
      for (const auto& [reason, n] : s.non_gc_reasons) reasons += fmt::format("{}{} x{}", reasons.empty() ? "" : ", ", reason, n);
      out += fmt::format("{:>18} not GC: {} stop-the-worlds, total {}, max {} ({})\n", "", s.non_gc_count,
                         ms(s.non_gc_total_ns), ms(s.non_gc_max_ns), reasons);
    }
  }
  return out;
}

}  // namespace gputrace::gc
