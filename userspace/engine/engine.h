// Engine: the single-threaded, time-ordered core. It takes validated records in roughly
// time order, holds them for a reorder window, and feeds them in timestamp order (stable
// for equal timestamps) to the tables and analyzers, which produce findings.
//
// Usage (live or replay, same code):
//   Engine engine(EngineConfig{});            // defaults: 50 ms window, 2 s owner-exit grace
//   for (const Record& r : records) engine.push(r);   // any order within the window
//   engine.advance_to(now_ns);                // live only: release what is older than now - window
//   engine.finish();                          // end of input: release all, conclude
//   engine.findings(), engine.mappings(), engine.devices(), engine.losses() ...
//
// Two sources, two watermarks. Kernel-side records (BPF, host facts) drive the engine's
// clock: their newest timestamp, less the window, is how far records are released and
// timers fire. GPU records come from served processes, in CUPTI batches up to a flush
// period late, and are untrusted: they wait in their own, longer window, are released
// behind the kernel stream, and never move the engine's clock, so a GPU record stamped
// in the future cannot release kernel records early or fire a leak timer. The correlator
// joins the two. A record processed after a newer one of its source is still processed
// and counted in stats().late_records (late_gpu_records). Everything is judged on the
// event clock, so a replay of a capture gives the same findings as the live run.
#pragma once

#include "userspace/analyze/device_health.h"
#include "userspace/model/analysis_config.h"
#include "userspace/model/finding.h"
#include "userspace/analyze/gc_findings.h"
#include "userspace/analyze/growth.h"
#include "userspace/analyze/iommu_ranges.h"
#include "userspace/analyze/mappings.h"
#include "userspace/correlate/correlator.h"
#include "userspace/decode/record.h"
#include "userspace/tables/device_table.h"
#include "userspace/tables/process_table.h"
#include "userspace/engine/reorder_buffer.h"
#include "userspace/tables/shed_history.h"
#include "userspace/tables/stack_table.h"
#include "userspace/analyze/kernel_dma_counts.h"

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace gputrace {

struct EngineStats {
  uint64_t records_pushed = 0;
  uint64_t records_processed = 0;
  uint64_t late_records = 0;        // kernel-side records processed after a newer one (out of order)
  uint64_t late_gpu_records = 0;    // the same among GPU records
  uint64_t gpu_released_early = 0;  // over max_held_gpu_records: went on before the kernel stream
  uint64_t kernel_released_early = 0;  // over max_held_kernel_records: before their window passed
  uint64_t max_held_records = 0;
  uint64_t invalid_stack_records = 0;
  uint64_t stacks_not_kept = 0;     // stack table full
  uint64_t pushed_after_finish = 0; // a caller bug: ignored
  uint64_t first_ts = 0;            // of processed records; 0 when none
  uint64_t last_ts = 0;
  std::array<uint64_t, GT_EV_KIND_MAX> records_by_kind{};
};

class Engine {
 public:
  explicit Engine(EngineConfig config = {});
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  void push(const Record& record);
  void advance_to(uint64_t now_ns);
  void finish();
  // Called for every record after the built-in analyzers, in processing order (taps for
  // other analyzers, views and tests). The Record's bytes are valid only during the call.
  void set_record_observer(std::function<void(const Record&)> observer) { observer_ = std::move(observer); }

  const EngineConfig& config() const { return config_; }
  const EngineStats& stats() const { return stats_; }
  bool finished() const { return finished_; }
  const ProcessTable& processes() const { return processes_; }
  const DeviceTable& devices() const { return devices_; }
  const StackTable& stacks() const { return stacks_; }
  const ShedHistory& shedding() const { return shedding_; }
  const MappingTracker& mappings() const { return mappings_; }
  const IommuTracker& iommu() const { return iommu_; }
  const DeviceHealth& health() const { return health_; }
  const Correlator& correlation() const { return correlator_; }
  // Devices worth listing in reports and views: traced ones, any an event names, and GPUs
  // with activity. Devices known only from the sysfs snapshot are left out (a server has dozens).
  bool device_listed(uint32_t index) const;
  const std::vector<Finding>& findings() const { return findings_.all(); }
  // Latest value of every loss counter named by GT_EV_LOSS records.
  const std::map<std::string, uint64_t>& reported_losses() const { return reported_losses_; }

 private:
  void push_kernel(const Record& record);
  void push_gpu(const Record& record);
  void release_through(uint64_t horizon);
  void process_kernel(const Record& record);
  void process_gpu(const Record& record);
  void count_processed(const Record& record);
  struct Dispatch;
  void dispatch(const Record& record);
  void advance_clock(uint64_t now_ns);
  void run_timers(uint64_t now_ns);

  EngineConfig config_;
  EngineStats stats_;
  ReorderBuffer buffer_;      // kernel-side records
  ReorderBuffer gpu_buffer_;  // GPU activity
  ProcessTable processes_;
  DeviceTable devices_;
  StackTable stacks_;
  ShedHistory shedding_;
  FindingSink findings_;
  MappingTracker mappings_;
  KernelDmaCounts kernel_counts_;
  IommuTracker iommu_;
  DeviceHealth health_;
  GrowthDetector growth_;
  Correlator correlator_;
  GcFindings gc_findings_;
  std::map<std::string, uint64_t> reported_losses_;
  std::function<void(const Record&)> observer_;
  std::function<void(const Record&)> process_fn_;
  std::function<void(const Record&)> process_gpu_fn_;
  uint64_t newest_kernel_ts_ = 0;  // the kernel stream's watermark
  uint64_t next_release_horizon_ = 0;
  bool released_any_ = false;      // a kernel-side record was processed
  uint64_t released_ts_ = 0;       // newest kernel-side timestamp processed so far
  uint64_t gpu_released_ts_ = 0;   // newest GPU timestamp processed so far
  uint64_t next_timer_ns_ = UINT64_MAX;
  bool finished_ = false;
};

}  // namespace gputrace
