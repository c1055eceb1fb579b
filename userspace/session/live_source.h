// LiveSource: everything a live run reads, as one stream of wire records.
//
// Owns the kernel collectors, the ring consumer and the daemon-side sources (process
// snapshot, sysfs device facts, kernel stacks, VT-d faults from the kernel log, loss
// counters) and hands every record, in arrival order, to one sink: the capture writer for
// `record`, the engine for live views. Stack records are emitted before the first event
// that refers to them.
#pragma once

#include "userspace/decode/record.h"
#include "userspace/gc/gc_tracer.h"
#include "userspace/gpu/gpu_ingest.h"
#include "userspace/gpu/gpu_probe.h"
#include "userspace/gpu/injection_env.h"
#include "userspace/gpu/seqpacket_listener.h"
#include "userspace/host/kmsg_faults.h"
#include "userspace/host/link_watch.h"
#include "userspace/host/stacks.h"
#include "userspace/session/dma_pairing.h"
#include "userspace/loader/kernel_tracer.h"
#include "userspace/ring/consumer.h"
#include "userspace/session/load_shedder.h"
#include "userspace/session/process_tree.h"

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace gputrace {

class LiveSource {
 public:
  using Sink = std::function<void(const Record&)>;
  // gc: trace GC pauses of the managed runtimes these options select (nullopt: do not).
  // cupti_socket: where to serve the injection library's socket route (docs/cupti.md).
  static Result<std::unique_ptr<LiveSource>> start(const Features& features, const TraceConfig& config,
                                                   std::optional<gc::GcOptions> gc, Sink sink,
                                                   std::string cupti_socket = kCuptiSocketPath);

  // Waits up to `timeout` for events and forwards what arrived; every second also forwards
  // the loss counters and new kernel-log faults, every ten the PCIe links that changed (and
  // tries again to serve the CUPTI socket if another gputrace held it).
  Result<void> pump(std::chrono::milliseconds timeout);
  // Final drain and final loss counters; call before closing the sink.
  Result<void> stop();

  // From now on, forwards GPU activity only from root and the processes it forks (`record
  // -- CMD`); batches of other processes are dropped and counted. Call before root can fork.
  void limit_gpu_to_tree(uint32_t root) { gpu_tree_.emplace(root); }
  // Also reads the GPU batches of the library file at `path` in process `pid`: a copy the
  // probe on gputrace's own library does not reach (`attach --pid` into another mount
  // namespace loads a memfd copy; its path is then /proc/PID/map_files/...).
  Result<void> add_gpu_probe(const std::string& path, int pid);

  const KernelTracer& tracer() const { return *tracer_; }
  // Pairing DMA mappings in the kernel; nullptr when off (--no-kernel-pairing) or unavailable.
  const DmaPairing* pairing() const { return pairing_ ? &*pairing_ : nullptr; }
  uint64_t records_forwarded() const { return forwarded_; }
  const GpuIngestStats& gpu_stats() const { return gpu_ingest_.stats(); }
  uint64_t gpu_batches_unwanted() const { return gpu_batches_unwanted_; }

 private:
  explicit LiveSource(const TraceConfig& config) : pressure_(config.pressure_proc), shedder_(config.shedding) {}
  // Hands r to the sink, counted: what every path ends in.
  void emit(const Record& r) {
    sink_(r);
    ++forwarded_;
  }
  void forward(const Record& r);
  void forward_gpu_batch(const Record& r);
  void emit_gpu(const Record& r);
  void shed_load_if_pressed();
  size_t read_cupti_socket();
  void serve_socket();
  bool gpu_sender_wanted(uint32_t pid) const { return !gpu_tree_ || gpu_tree_->contains(pid); }
  void emit_losses();
  void emit_dma_counts();
  void sweep_pairing_table();
  void emit_faults();
  void emit_link_changes();

  Sink sink_;
  std::unique_ptr<KernelTracer> tracer_;
  std::unique_ptr<RingConsumer> consumer_;
  std::unique_ptr<gc::GcTracer> gc_;
  std::optional<GpuProbe> gpu_probe_;  // CUPTI batches from libgputrace_cupti.so, any process
  std::vector<GpuProbe> copy_probes_;  // ... from copies of it in attached processes
  std::string cupti_socket_path_;
  std::optional<SeqpacketListener> cupti_socket_;  // ... from processes the probe misses
  bool cupti_socket_failed_before_ = false;
  GpuIngest gpu_ingest_;               // validates them: the served process is untrusted
  std::optional<ProcessTree> gpu_tree_;  // set: only these processes' GPU activity is wanted
  uint64_t gpu_batches_unwanted_ = 0;
  std::optional<StackRecorder> stacks_;
  std::optional<DmaPairing> pairing_;
  std::chrono::steady_clock::time_point last_sweep_{};
  std::optional<KmsgFaultReader> kmsg_;
  PressureReader pressure_;
  LoadShedder shedder_;
  uint32_t shed_flags_ = 0;            // enum gt_shed_flags in force
  uint64_t longest_gc_pause_ns_ = 0;   // of the pauses forwarded since the last reading
  uint64_t gpu_api_records_shed_ = 0;
  LinkWatch links_;
  uint64_t forwarded_ = 0;
  std::chrono::steady_clock::time_point last_periodic_{};
  std::chrono::steady_clock::time_point last_link_check_{};
};

}  // namespace gputrace
