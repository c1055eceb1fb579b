#include "userspace/correlate/correlator.h"

#include <algorithm>

namespace gputrace {

Correlator::Correlator(const CorrelationConfig& config, DeviceTable& devices, DeviceHealth& health,
                       const ProcessTable& processes, FindingSink& findings)
    : config_(config),
      health_(health),
      history_(config.max_history_entries),
      binding_(devices),
      transfers_(config_, devices, health, history_, processes, findings),
      idle_(config_, devices, history_, processes, findings) {}

// Cumulative in the process: the latest one holds. A process that only ever sent this
// (CUPTI held by another tool) is listed with it.
void Correlator::on_gpu_status(const gt_gpu_status_event& e) {
  GpuLibraryStatus& l = library_of(e.hdr.pid);
  l.state = e.state;
  l.cupti_result = e.cupti_result;
  l.holder = fixed_string(e.holder, sizeof(e.holder));
  l.clock_mode = e.clock_mode;
  l.clock_error_ns = e.clock_error_ns;
  l.records = e.records;
  l.dropped_cupti = e.dropped_cupti;
  l.dropped_local = e.dropped_local;
}

void Correlator::on_gpu_lib_losses(const gt_gpu_lib_losses_event& e) {
  GpuLibraryStatus& l = library_of(e.hdr.pid);
  l.untimed = e.untimed;
  l.truncated = e.truncated;
  l.buffers_cut_short = e.buffers_cut_short;
  l.names_overflowed = e.names_overflowed;
  l.headers_version = e.headers_version;
  l.layout_unverified = e.flags & GT_GPU_LAYOUT_UNVERIFIED;
}

void Correlator::on_gpu_guards(const gt_gpu_guards_event& e) {
  GpuLibraryStatus& l = library_of(e.hdr.pid);
  l.has_guards = true;
  l.process_rate_limited = e.process_rate_limited;
  l.thread_rate_limited = e.thread_rate_limited;
  l.invalid_timestamp = e.invalid_timestamp;
  l.non_monotonic = e.non_monotonic;
  l.buffers_refused = e.buffers_refused;
  l.process_limit = e.process_limit;
  l.thread_limit = e.thread_limit;
  l.device_buffers = e.device_buffers;
  l.max_buffers = e.max_buffers;
}

// The profiler's own cost and whole-graph launches: per-process totals (the timeline shows
// each one).
void Correlator::on_gpu_overhead(const gt_gpu_overhead_event& e) {
  GpuProcessStats& p = per_process_[e.hdr.pid];
  ++p.overhead_records;
  p.overhead_ns += e.end_ns - e.hdr.ts_ns;  // validated: end >= start
}

void Correlator::on_gpu_graph(const gt_gpu_graph_event& e) {
  GpuProcessStats& p = per_process_[e.hdr.pid];
  ++p.graph_launches;
  p.graph_ns += e.end_ns - e.hdr.ts_ns;
}

void Correlator::on_gpu_activity(const GpuActivity& activity) {
  if (pending_.size() >= config_.max_pending_activities) {  // the kernel stream stopped moving
    ++stats_.pending_dropped;
    judge(pending_.front());
    pending_.pop_front();
  }
  const GpuBinding binding = binding_.resolve(activity.pid, activity.device_id);
  if (binding.device) active_devices_.insert(*binding.device);
  // Copies claim their share of the link now: a copy judged later must see every copy
  // that overlapped it, including those that started after it.
  if (activity.kind == GpuActivityKind::Memcpy) transfers_.on_copy_in_flight(activity, binding);
  pending_.push_back(activity);
  stats_.max_pending = std::max<uint64_t>(stats_.max_pending, pending_.size());
  judge_ready();
}

GpuLibraryStatus& Correlator::library_of(uint32_t pid) {
  auto& library = per_process_[pid].library;
  if (!library) library.emplace();
  return *library;
}

void Correlator::on_kernel_clock(uint64_t ts) {
  if (ts <= kernel_clock_) return;
  kernel_clock_ = ts;
  judge_ready();
  // Forget in steps of a second: cheap, and the span stays within a second of the setting.
  // The end of input (UINT64_MAX) forgets nothing: what is still pending needs it.
  if (ts != UINT64_MAX && ts > config_.history_span_ns && ts - config_.history_span_ns > forgotten_before_ + 1'000'000'000) {
    forgotten_before_ = ts - config_.history_span_ns;
    history_.forget_before(forgotten_before_);
    health_.forget_before(forgotten_before_);
  }
}

void Correlator::on_gpu_clock(uint64_t ts) {
  if (ts <= gpu_clock_) return;
  gpu_clock_ = ts;
  judge_ready();
}

void Correlator::finish() {
  kernel_clock_ = gpu_clock_ = UINT64_MAX;
  judge_ready();
  transfers_.finish();
  idle_.finish();
}

// Whether a, ready otherwise, must wait for a GC pause of its process that began before it
// ended and has not ended yet. A pause open longer than history_span_ns is not waited for
// (counted); at the end of input nothing will end it.
bool Correlator::waits_for_open_pause(const GpuActivity& a) {
  const auto since = history_.open_pause_since(a.pid);
  if (!since || *since > a.end_ns || kernel_clock_ == UINT64_MAX) return false;
  if (kernel_clock_ - *since <= config_.history_span_ns) return true;
  ++stats_.open_pause_expired;
  return false;
}

void Correlator::judge_ready() {
  const uint64_t passed = std::min(kernel_clock_, gpu_clock_);
  while (!pending_.empty() && pending_.front().end_ns <= passed) {
    if (waits_for_open_pause(pending_.front())) break;
    judge(pending_.front());
    pending_.pop_front();
  }
  // Findings no activity still to come can extend are concluded now, not at the next
  // activity: a process that stalls and then goes quiet is reported while it is quiet.
  const uint64_t next_start = pending_.empty() ? gpu_clock_ : pending_.front().start_ns;
  if (next_start != UINT64_MAX) {
    transfers_.close_before(next_start);
    idle_.close_before(next_start);
  }
}

void Correlator::judge(const GpuActivity& a) {
  ++stats_.activities;
  if (a.start_ns < forgotten_before_) ++stats_.beyond_history;
  // Findings that no activity from now on can extend are concluded first, so their order
  // depends only on the GPU timeline.
  transfers_.close_before(a.start_ns);
  idle_.close_before(a.start_ns);
  GpuProcessStats& stats = per_process_[a.pid];
  const GpuBinding binding = binding_.resolve(a.pid, a.device_id);
  switch (a.kind) {
    case GpuActivityKind::Kernel:
      ++stats.kernels;
      stats.kernel_ns += a.duration_ns();
      break;
    case GpuActivityKind::Memcpy: transfers_.on_memcpy(a, binding, stats); break;
    case GpuActivityKind::Memset: ++stats.memsets; break;
  }
  idle_.on_activity(a, binding, stats);
}

}  // namespace gputrace
