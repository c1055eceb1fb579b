#include "engine/engine.h"

#include "decode/kinds.h"
#include "util/log.h"

extern "C" {
#include "dma.h"
#include "gc.h"
#include "gpu.h"
#include "host.h"
#include "iommu.h"
#include "pcie.h"
#include "proc.h"
}

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
  correlator_.on_gpu_record(record);
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

void Engine::dispatch(const Record& r) {
  switch (r.header.kind) {  // the kinds of several enums (bpf/*.h)
    case GT_EV_DMA_MAP: {
      const auto e = r.as<gt_dma_event>();
      mappings_.on_map(e);
      const uint32_t device = devices_.intern_key(e.dev);
      iommu_.attribute(e.dma_addr, e.size, device);
      correlator_.history().on_dma(device, false, e.hdr.ts_ns);
      break;
    }
    case GT_EV_DMA_UNMAP: {
      const auto e = r.as<gt_dma_event>();
      mappings_.on_unmap(e);
      correlator_.history().on_dma(devices_.intern_key(e.dev), true, e.hdr.ts_ns);
      break;
    }
    case GT_EV_DMA_OUTSTANDING: {
      const auto e = r.as<gt_dma_mapping_event>();
      mappings_.on_outstanding(e);
      iommu_.attribute(e.dma_addr, e.size, devices_.intern_key(e.dev));
      next_timer_ns_ = std::min(next_timer_ns_, mappings_.next_due_ns());  // its owner may have exited
      break;
    }
    case GT_EV_DMA_RELEASED: mappings_.on_released(r.as<gt_dma_event>()); break;
    case GT_EV_DMA_CLOSED: mappings_.on_closed(r.as<gt_dma_mapping_event>()); break;
    case GT_EV_DMA_COUNTS: kernel_counts_.on_counts(r.as<gt_dma_counts_event>()); break;
    case GT_EV_DEVICE: devices_.on_device(r.as<gt_device_event>()); break;
    case GT_EV_DEVICE_FACTS: devices_.on_facts(r.as<gt_device_facts_event>()); break;
    case GT_EV_DRIVER_UNBIND: mappings_.on_unbind(r.as<gt_unbind_event>()); break;
    case GT_EV_IOMMU_MAP: iommu_.on_map(r.as<gt_iommu_event>()); break;
    case GT_EV_IOMMU_UNMAP:
      iommu_.on_unmap(r.as<gt_iommu_event>());
      correlator_.history().on_iommu_unmap(r.ts());
      break;
    case GT_EV_IOMMU_FAULT: health_.on_fault(r.as<gt_iommu_fault_event>()); break;
    case GT_EV_IOMMU_LATENCY: {
      const auto e = r.as<gt_iommu_latency_event>();
      const uint32_t device = health_.on_latency(e);
      if (e.op == GT_IOMMU_OP_UNMAP) correlator_.history().on_unmap_latency(device, e.hdr.ts_ns, e.latency_ns);
      break;
    }
    case GT_EV_AER: health_.on_aer(r.as<gt_aer_event>()); break;
    case GT_EV_SWIOTLB_BOUNCE: {
      const auto e = r.as<gt_swiotlb_event>();
      correlator_.history().on_swiotlb(health_.on_swiotlb(e), e.hdr.ts_ns, e.size);
      break;
    }
    case GT_EV_PROC_INFO: processes_.on_info(r.as<gt_proc_event>()); break;
    case GT_EV_PROC_EXEC: processes_.on_exec(r.as<gt_proc_event>()); break;
    case GT_EV_PROC_FORK: processes_.on_fork(r.as<gt_fork_event>()); break;
    case GT_EV_PROC_EXIT: {
      const ProcessInfo exited = processes_.on_exit(r.as<gt_exit_event>());
      mappings_.on_process_exit(exited, r.ts());
      correlator_.history().on_process_exit(r.header.pid);
      next_timer_ns_ = std::min(next_timer_ns_, mappings_.next_due_ns());
      break;
    }
    case GT_EV_STACK: {
      const auto result = stacks_.on_stack(r);
      if (result == StackTable::AddResult::Invalid) ++stats_.invalid_stack_records;
      if (result == StackTable::AddResult::Full) ++stats_.stacks_not_kept;
      break;
    }
    case GT_EV_LOSS: {
      const auto e = r.as<gt_loss_event>();
      reported_losses_[fixed_string(e.name, sizeof(e.name))] = e.value;
      break;
    }
    case GT_EV_GC_BEGIN: correlator_.history().on_gc_begin(r.header.pid, r.ts()); break;
    case GT_EV_GC_PAUSE: {
      const auto e = r.as<gt_gc_pause_event>();
      correlator_.history().on_gc_pause_end(e.hdr.pid, e.hdr.ts_ns);
      if (e.cause != GT_GC_CAUSE_NOT_GC)
        correlator_.history().on_gc_pause(e.hdr.pid, {e.begin_ns, e.begin_ns + e.duration_ns, e.runtime});
      break;
    }
    default: break;  // kinds other analyzers consume (GC statistics, GPU): the observer sees them
  }
  if (r.kind() == GT_EV_IOMMU_FAULT) next_timer_ns_ = std::min(next_timer_ns_, health_.next_due_ns());
}

}  // namespace gputrace
