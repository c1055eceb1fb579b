#include "userspace/engine/engine.h"

#include "userspace/decode/kinds.h"
#include "userspace/util/log.h"

#include <algorithm>

namespace gputrace {

Engine::Engine(EngineConfig config)
    : config_(config),
      processes_(config.max_exited_processes),
      stacks_(config.max_stacks),
      mappings_(MappingTrackerConfig{config.owner_exit_grace_ns, config.unmap_history}, devices_, processes_, stacks_,
                findings_),
      kernel_counts_(devices_, mappings_),
      health_(config.max_kept_health_events, devices_, findings_),
      growth_(config.growth, devices_, mappings_, findings_),
      correlator_(config.correlation, devices_, health_, processes_, findings_),
      gc_findings_(config_.gc, processes_, findings_),
      process_fn_([this](const Record& r) { process_kernel(r); }),
      process_gpu_fn_([this](const Record& r) { process_gpu(r); }) {}

void Engine::push(const Record& record) {
  if (finished_) {
    ++stats_.pushed_after_finish;
    log_bug("Engine::push after finish(): record of kind {} ignored", record.header.kind);
    return;
  }
  ++stats_.records_pushed;
  if (is_gpu_activity_kind(record.header.kind))
    push_gpu(record);
  else
    push_kernel(record);
  stats_.max_held_records = std::max<uint64_t>(stats_.max_held_records, buffer_.held() + gpu_buffer_.held());
}

void Engine::push_kernel(const Record& record) {
  if (released_any_ && record.ts() < released_ts_) ++stats_.late_records;
  buffer_.push(record);
  newest_kernel_ts_ = std::max(newest_kernel_ts_, record.ts());
  if (buffer_.held() > config_.max_held_kernel_records) {
    // The clock is not moving the window (one timestamp repeated): let the oldest quarter go.
    const size_t n = std::max<size_t>(config_.max_held_kernel_records / 4, 1);
    stats_.kernel_released_early += n;
    buffer_.release_oldest(n, process_fn_);
  }
  if (newest_kernel_ts_ < config_.reorder_window_ns) return;
  const uint64_t horizon = newest_kernel_ts_ - config_.reorder_window_ns;
  // Release in batches (an eighth of the window) so sorting and merging stay cheap per record.
  if (horizon >= next_release_horizon_) release_through(horizon);
}

void Engine::push_gpu(const Record& record) {
  if (record.ts() < gpu_released_ts_) ++stats_.late_gpu_records;
  gpu_buffer_.push(record);
  if (gpu_buffer_.held() <= config_.max_held_gpu_records) return;
  // Nothing is moving the kernel stream: let the oldest quarter go on rather than grow.
  const size_t n = std::max<size_t>(config_.max_held_gpu_records / 4, 1);
  stats_.gpu_released_early += n;
  gpu_buffer_.release_oldest(n, process_gpu_fn_);
}

void Engine::advance_to(uint64_t now_ns) {
  if (finished_ || now_ns < config_.reorder_window_ns) return;
  release_through(now_ns - config_.reorder_window_ns);
}

void Engine::finish() {
  if (finished_) return;
  buffer_.release_all(process_fn_);
  correlator_.on_kernel_clock(UINT64_MAX);
  gpu_buffer_.release_all(process_gpu_fn_);
  correlator_.on_gpu_clock(UINT64_MAX);
  correlator_.finish();
  // Everything up to the last event has been seen: judge what was due by then.
  if (released_any_) advance_clock(released_ts_ == UINT64_MAX ? released_ts_ : released_ts_ + 1);
  mappings_.finish();
  health_.finish();
  finished_ = true;
}

void Engine::release_through(uint64_t horizon) {
  buffer_.release_through(horizon, process_fn_);
  next_release_horizon_ = horizon + std::max<uint64_t>(config_.reorder_window_ns / 8, 1);
  // Every record at or before the horizon has been processed: timers due by then can fire.
  if (released_any_) advance_clock(horizon == UINT64_MAX ? horizon : horizon + 1);
  correlator_.on_kernel_clock(horizon);
  // The GPU window is the longer one: GPU records trail the kernel horizon by the difference.
  const uint64_t lag = config_.gpu_reorder_window_ns - std::min(config_.gpu_reorder_window_ns, config_.reorder_window_ns);
  if (horizon > lag) {
    gpu_buffer_.release_through(horizon - lag, process_gpu_fn_);
    correlator_.on_gpu_clock(horizon - lag);
  }
}

void Engine::count_processed(const Record& record) {
  ++stats_.records_processed;
  ++stats_.records_by_kind[record.header.kind < GT_EV_KIND_MAX ? record.header.kind : 0];
  if (stats_.records_processed == 1) stats_.first_ts = record.ts();
  stats_.first_ts = std::min(stats_.first_ts, record.ts());
  stats_.last_ts = std::max(stats_.last_ts, record.ts());
}

void Engine::process_kernel(const Record& record) {
  const uint64_t ts = record.ts();
  if (!released_any_) {
    released_any_ = true;
    growth_.start_at(ts);
    next_timer_ns_ = growth_.next_due_ns();
  }
  advance_clock(ts);
  released_ts_ = std::max(released_ts_, ts);
  count_processed(record);
  dispatch(record);
  if (observer_) observer_(record);
}

// GPU records never advance the engine's clock: timers run on kernel time only.
void Engine::process_gpu(const Record& record) {
  gpu_released_ts_ = std::max(gpu_released_ts_, record.ts());
  count_processed(record);
  if (observer_) observer_(record);
  dispatch(record);
}

void Engine::advance_clock(uint64_t now_ns) {
  if (now_ns > next_timer_ns_) run_timers(now_ns);
}

void Engine::run_timers(uint64_t now_ns) {
  mappings_.run_due(now_ns);
  growth_.run_due(now_ns);
  health_.run_due(now_ns);
  next_timer_ns_ = std::min({mappings_.next_due_ns(), growth_.next_due_ns(), health_.next_due_ns()});
}

bool Engine::device_listed(uint32_t index) const {
  bool has_events = false;
  if (const DeviceDmaStats* s = mappings_.device_stats(index)) {
    for (const auto& t : s->by_api) has_events = has_events || t.maps || t.unmaps;
    has_events = has_events || s->unbinds || s->unknown_api_events;
  }
  const DeviceHealthCounts h = health_.counts(index);
  const bool has_health = h.iommu_faults || h.aer_corrected || h.aer_nonfatal || h.aer_fatal || h.swiotlb_bounces ||
                          h.iommu_map_latency.count || h.iommu_unmap_latency.count;
  return devices_.at(index).traced || has_events || has_health || correlator_.has_gpu_activity(index);
}

// Every kind of record, and what the engine does with it. A kind added to bpf/kinds.h
// fails to compile here until it is handled or said to be left to the observers.
struct Engine::Dispatch {
  Engine& e;

  void operator()(Typed<GT_EV_DMA_MAP> r) {
    e.mappings_.on_map(r.event);
    const uint32_t device = e.devices_.intern_key(r.event.dev);
    e.iommu_.attribute(r.event.dma_addr, r.event.size, device);
    e.correlator_.history().on_dma(device, false, r.event.hdr.ts_ns);
  }
  void operator()(Typed<GT_EV_DMA_UNMAP> r) {
    e.mappings_.on_unmap(r.event);
    e.correlator_.history().on_dma(e.devices_.intern_key(r.event.dev), true, r.event.hdr.ts_ns);
  }
  // Paired in the kernel: only mappings that outlived the promotion threshold (or that the
  // kernel could not pair) arrive, and the exact counts come as totals.
  void operator()(Typed<GT_EV_DMA_OUTSTANDING> r) {
    e.mappings_.on_outstanding(r.event);
    e.iommu_.attribute(r.event.dma_addr, r.event.size, e.devices_.intern_key(r.event.dev));
    e.next_timer_ns_ = std::min(e.next_timer_ns_, e.mappings_.next_due_ns());  // its owner may have exited
  }
  void operator()(Typed<GT_EV_DMA_RELEASED> r) { e.mappings_.on_released(r.event); }
  void operator()(Typed<GT_EV_DMA_CLOSED> r) { e.mappings_.on_closed(r.event); }
  void operator()(Typed<GT_EV_DMA_COUNTS> r) { e.kernel_counts_.on_counts(r.event); }
  void operator()(Typed<GT_EV_DEVICE> r) { e.devices_.on_device(r.event); }
  void operator()(Typed<GT_EV_SHED> r) { e.shedding_.on_shed(r.event); }
  void operator()(Typed<GT_EV_DEVICE_FACTS> r) { e.devices_.on_facts(r.event); }
  void operator()(Typed<GT_EV_DRIVER_UNBIND> r) { e.mappings_.on_unbind(r.event); }
  void operator()(Typed<GT_EV_IOMMU_MAP> r) { e.iommu_.on_map(r.event); }
  void operator()(Typed<GT_EV_IOMMU_UNMAP> r) {
    e.iommu_.on_unmap(r.event);
    e.correlator_.history().on_iommu_unmap(r.event.hdr.ts_ns);
  }
  void operator()(Typed<GT_EV_IOMMU_FAULT> r) {
    e.health_.on_fault(r.event);
    e.next_timer_ns_ = std::min(e.next_timer_ns_, e.health_.next_due_ns());
  }
  void operator()(Typed<GT_EV_IOMMU_LATENCY> r) {
    const uint32_t device = e.health_.on_latency(r.event);
    if (r.event.op == GT_IOMMU_OP_UNMAP)
      e.correlator_.history().on_unmap_latency(device, r.event.hdr.ts_ns, r.event.latency_ns);
  }
  void operator()(Typed<GT_EV_AER> r) { e.health_.on_aer(r.event); }
  void operator()(Typed<GT_EV_SWIOTLB_BOUNCE> r) {
    e.correlator_.history().on_swiotlb(e.health_.on_swiotlb(r.event), r.event.hdr.ts_ns, r.event.size);
  }
  void operator()(Typed<GT_EV_PROC_INFO> r) { e.processes_.on_info(r.event); }
  void operator()(Typed<GT_EV_PROC_EXEC> r) { e.processes_.on_exec(r.event); }
  void operator()(Typed<GT_EV_PROC_FORK> r) { e.processes_.on_fork(r.event); }
  void operator()(Typed<GT_EV_PROC_EXIT> r) {
    const ProcessInfo exited = e.processes_.on_exit(r.event);
    e.mappings_.on_process_exit(exited, r.event.hdr.ts_ns);
    e.correlator_.history().on_process_exit(r.event.hdr.pid);
    e.next_timer_ns_ = std::min(e.next_timer_ns_, e.mappings_.next_due_ns());
  }
  void operator()(Typed<GT_EV_STACK> r) {
    const auto result = e.stacks_.on_stack(r.record);
    if (result == StackTable::AddResult::Invalid) ++e.stats_.invalid_stack_records;
    if (result == StackTable::AddResult::Full) ++e.stats_.stacks_not_kept;
  }
  void operator()(Typed<GT_EV_LOSS> r) {
    e.reported_losses_[fixed_string(r.event.name, sizeof(r.event.name))] = r.event.value;
  }
  void operator()(Typed<GT_EV_GC_BEGIN> r) { e.correlator_.history().on_gc_begin(r.event.hdr.pid, r.event.hdr.ts_ns); }
  void operator()(Typed<GT_EV_GC_PAUSE> r) {
    const gt_gc_pause_event& p = r.event;
    e.correlator_.history().on_gc_pause_end(p.hdr.pid, p.hdr.ts_ns);
    if (p.cause != GT_GC_CAUSE_NOT_GC)
      e.correlator_.history().on_gc_pause(p.hdr.pid, {p.begin_ns, p.begin_ns + p.duration_ns, p.runtime});
    e.gc_findings_.on_pause(p);
  }
  // Go's cycles are statistics only (gc::PauseStats, an observer).
  void operator()(Typed<GT_EV_GC_CYCLE>) {}

  // GPU records, in the GPU window's order.
  void operator()(Typed<GT_EV_GPU_KERNEL> r) { e.correlator_.on_gpu_activity(activity_of(r.event)); }
  void operator()(Typed<GT_EV_GPU_MEMCPY> r) { e.correlator_.on_gpu_activity(activity_of(r.event)); }
  void operator()(Typed<GT_EV_GPU_MEMSET> r) { e.correlator_.on_gpu_activity(activity_of(r.event)); }
  void operator()(Typed<GT_EV_GPU_DEVICE> r) { e.correlator_.on_gpu_device(r.event); }
  void operator()(Typed<GT_EV_GPU_STATUS> r) { e.correlator_.on_gpu_status(r.event); }
  void operator()(Typed<GT_EV_GPU_LIB_LOSSES> r) { e.correlator_.on_gpu_lib_losses(r.event); }
  void operator()(Typed<GT_EV_GPU_GUARDS> r) { e.correlator_.on_gpu_guards(r.event); }
  void operator()(Typed<GT_EV_GPU_OVERHEAD> r) { e.correlator_.on_gpu_overhead(r.event); }
  void operator()(Typed<GT_EV_GPU_GRAPH> r) { e.correlator_.on_gpu_graph(r.event); }
  // Kernel names and API/memory records serve the timeline and the views (observers).
  void operator()(Typed<GT_EV_GPU_NAME>) {}
  void operator()(Typed<GT_EV_GPU_API>) {}
  void operator()(Typed<GT_EV_GPU_MEMORY>) {}
  // Unpacked by the GPU ingest before anything reaches the engine; a capture never holds one.
  void operator()(Typed<GT_EV_GPU_BATCH>) {}
};

void Engine::dispatch(const Record& r) { visit_record(r, Dispatch{*this}); }

}  // namespace gputrace
