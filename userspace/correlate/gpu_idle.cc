#include "userspace/correlate/gpu_idle.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gputrace {
namespace {

double ms(uint64_t ns) { return std::round(static_cast<double>(ns) / 1e4) / 100; }

}  // namespace

void GpuIdleAnalyzer::on_activity(const GpuActivity& a, const GpuBinding& binding, GpuProcessStats& stats) {
  const DeviceKey device = binding.device ? DeviceKey{true, *binding.device} : DeviceKey{false, a.device_id};
  auto [busy, first] = busy_until_.try_emplace(device, a.end_ns);
  if (first) return;  // no earlier work: nothing to call idle
  const uint64_t idle_from = busy->second;
  busy->second = std::max(busy->second, a.end_ns);
  if (a.start_ns <= idle_from) return;

  for (const GcPauseSpan& p : history_.gc_pauses_in(a.pid, idle_from, a.start_ns)) {
    if (p.end_ns + config_.idle_resume_slack_ns < a.start_ns) continue;  // not what held the launch
    const uint64_t overlap = std::min(a.start_ns, p.end_ns) - std::max(idle_from, p.begin_ns);
    if (overlap < config_.idle_min_ns) continue;
    stats.idle_gc_ns += overlap;
    ++stats.idle_gc_pauses;
    idle_gc_ns_ += overlap;
    auto [it, fresh] = open_.try_emplace({a.pid, device});
    Group& g = it->second;
    if (fresh) {
      g.device = binding.device ? devices_.at(*binding.device).name : fmt::format("cuda:{}", a.device_id);
      g.first_ns = std::max(idle_from, p.begin_ns);
    }
    g.last_ns = std::min(a.start_ns, p.end_ns);
    ++g.pauses;
    g.idle_ns += overlap;
    g.longest_ns = std::max(g.longest_ns, overlap);
    if (g.examples.size() < 8)
      g.examples.push_back({{"pause_begin_ns", p.begin_ns}, {"pause_end_ns", p.end_ns}, {"idle_ns", overlap}});
  }
}

void GpuIdleAnalyzer::close_before(uint64_t ts) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (ts != UINT64_MAX && it->second.last_ns + config_.idle_merge_gap_ns >= ts) {
      ++it;
      continue;
    }
    emit(it->first.first, it->second);
    it = open_.erase(it);
  }
}

void GpuIdleAnalyzer::emit(uint32_t pid, const Group& g) {
  Finding f;
  f.kind = FindingKind::gpu_idle_gc;
  f.severity = Severity::Warning;
  f.start_ns = g.first_ns;
  f.end_ns = g.last_ns;
  f.pid = pid;
  if (const ProcessInfo* p = processes_.latest(pid)) f.comm = p->comm;
  f.device = g.device;
  const uint64_t span = std::max<uint64_t>(g.last_ns - g.first_ns, 1);
  f.message = g.pauses == 1
                  ? fmt::format("GPU {} sat idle {} ms during a GC pause of the process feeding it", g.device, ms(g.idle_ns))
                  : fmt::format("GPU {} sat idle {} ms during {} GC pauses of the process feeding it (longest {} ms; "
                                "{:.1f}% of the {} ms they span)",
                                g.device, ms(g.idle_ns), g.pauses, ms(g.longest_ns),
                                100.0 * static_cast<double>(g.idle_ns) / static_cast<double>(span), ms(span));
  f.evidence = {{"idle_ns", g.idle_ns}, {"pauses", g.pauses}, {"longest_idle_ns", g.longest_ns}, {"examples", g.examples}};
  findings_.add(std::move(f));
}

}  // namespace gputrace
