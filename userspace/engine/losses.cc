#include "engine/losses.h"

#include "engine/engine.h"

namespace gputrace {

std::vector<LossCounter> engine_losses(const Engine& engine) {
  const EngineStats& st = engine.stats();
  std::vector<LossCounter> out;
  for (const auto& [name, value] : engine.reported_losses()) out.push_back({name, value, "bpf"});
  out.push_back({"late_records", st.late_records, "engine"});
  out.push_back({"invalid_stack_records", st.invalid_stack_records, "engine"});
  out.push_back({"stacks_not_kept", st.stacks_not_kept, "engine"});
  out.push_back({"health_events_not_kept", engine.health().events_not_kept(), "engine"});
  out.push_back({"late_gpu_records", st.late_gpu_records, "engine"});
  out.push_back({"correlation_history_dropped", engine.correlation().history().entries_dropped(), "engine"});
  out.push_back({"gpu_released_early", st.gpu_released_early, "engine"});
  out.push_back({"correlation_pending_dropped", engine.correlation().stats().pending_dropped, "engine"});
  out.push_back({"correlation_beyond_history", engine.correlation().stats().beyond_history, "engine"});
  out.push_back({"correlation_open_pause_expired", engine.correlation().stats().open_pause_expired, "engine"});
  out.push_back({"link_load_dropped", engine.correlation().transfers().link_load_dropped(), "engine"});
  out.push_back({"gpu_device_records_ignored", engine.correlation().binding().ignored(), "engine"});
  // What the injection libraries lost before sending (their status records, per process).
  GpuLibraryStatus sum;
  for (const auto& [pid, g] : engine.correlation().processes()) {
    if (!g.library) continue;
    sum.dropped_cupti += g.library->dropped_cupti;
    sum.dropped_local += g.library->dropped_local;
    sum.untimed += g.library->untimed;
    sum.truncated += g.library->truncated;
    sum.buffers_cut_short += g.library->buffers_cut_short;
    sum.names_overflowed += g.library->names_overflowed;
    sum.process_rate_limited += g.library->process_rate_limited;
    sum.thread_rate_limited += g.library->thread_rate_limited;
    sum.invalid_timestamp += g.library->invalid_timestamp;
    sum.non_monotonic += g.library->non_monotonic;
    sum.buffers_refused += g.library->buffers_refused;
  }
  out.push_back({"gpu_records_dropped_by_cupti", sum.dropped_cupti, "gpu"});
  out.push_back({"gpu_records_dropped_in_process", sum.dropped_local, "gpu"});
  out.push_back({"gpu_records_untimed", sum.untimed, "gpu"});
  out.push_back({"gpu_records_truncated", sum.truncated, "gpu"});
  out.push_back({"gpu_buffers_cut_short", sum.buffers_cut_short, "gpu"});
  out.push_back({"gpu_names_overflowed", sum.names_overflowed, "gpu"});
  // What the libraries' guards dropped (their GT_EV_GPU_GUARDS records).
  out.push_back({"gpu_records_rate_limited_process", sum.process_rate_limited, "gpu"});
  out.push_back({"gpu_records_rate_limited_thread", sum.thread_rate_limited, "gpu"});
  out.push_back({"gpu_records_invalid_timestamp", sum.invalid_timestamp, "gpu"});
  out.push_back({"gpu_records_non_monotonic", sum.non_monotonic, "gpu"});
  out.push_back({"gpu_buffers_refused", sum.buffers_refused, "gpu"});
  out.push_back({"gpu_device_bindings_cleared", engine.correlation().binding().cleared(), "engine"});
  return out;
}

}  // namespace gputrace
