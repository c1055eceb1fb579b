#include "userspace/engine/losses.h"

#include "userspace/engine/engine.h"

namespace gputrace {

LossCounts engine_loss_counts(const Engine& engine) {
  const EngineStats& st = engine.stats();
  const Correlator& correlation = engine.correlation();
  LossCounts c;
  c[Loss::late_records] = st.late_records;
  c[Loss::invalid_stack_records] = st.invalid_stack_records;
  c[Loss::stacks_not_kept] = st.stacks_not_kept;
  c[Loss::health_events_not_kept] = engine.health().events_not_kept();
  c[Loss::late_gpu_records] = st.late_gpu_records;
  c[Loss::correlation_history_dropped] = correlation.history().entries_dropped();
  c[Loss::gpu_released_early] = st.gpu_released_early;
  c[Loss::kernel_released_early] = st.kernel_released_early;
  c[Loss::correlation_pending_dropped] = correlation.stats().pending_dropped;
  c[Loss::correlation_beyond_history] = correlation.stats().beyond_history;
  c[Loss::correlation_open_pause_expired] = correlation.stats().open_pause_expired;
  c[Loss::link_load_dropped] = correlation.transfers().link_load_dropped();
  c[Loss::gpu_device_records_ignored] = correlation.binding().ignored();
  c[Loss::gpu_device_bindings_cleared] = correlation.binding().cleared();
  for (const auto& [pid, g] : correlation.processes()) {
    if (!g.library) continue;
    c[Loss::gpu_records_dropped_by_cupti] += g.library->dropped_cupti;
    c[Loss::gpu_records_dropped_in_process] += g.library->dropped_local;
    c[Loss::gpu_records_untimed] += g.library->untimed;
    c[Loss::gpu_records_truncated] += g.library->truncated;
    c[Loss::gpu_buffers_cut_short] += g.library->buffers_cut_short;
    c[Loss::gpu_names_overflowed] += g.library->names_overflowed;
    // what the libraries' guards dropped (their GT_EV_GPU_GUARDS records)
    c[Loss::gpu_records_rate_limited_process] += g.library->process_rate_limited;
    c[Loss::gpu_records_rate_limited_thread] += g.library->thread_rate_limited;
    c[Loss::gpu_records_invalid_timestamp] += g.library->invalid_timestamp;
    c[Loss::gpu_records_non_monotonic] += g.library->non_monotonic;
    c[Loss::gpu_buffers_refused] += g.library->buffers_refused;
  }
  return c;
}

std::vector<LossCounter> engine_losses(const Engine& engine) {
  std::vector<LossCounter> out;
  for (const auto& [name, value] : engine.reported_losses()) out.push_back({name, value, "bpf"});
  const LossCounts counts = engine_loss_counts(engine);
  for (size_t i = 0; i < kLossCount; ++i) {
    const LossInfo& info = kLossTable[i];
    if (info.source != LossSource::Engine && info.source != LossSource::Library) continue;
    out.push_back({std::string(info.name), counts[static_cast<Loss>(i)],
                   info.source == LossSource::Engine ? "engine" : "gpu"});
  }
  return out;
}

}  // namespace gputrace
