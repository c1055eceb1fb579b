// KernelTracer: loads and attaches every kernel collector, one flavour per hook.
//
// Fixed order (bcc's rule): open -> configure (autoload from feature probes, rodata, shared
// maps) -> load -> attach. A hook whose chosen flavour fails to load falls back to the next
// one that the kernel offers; every decision and failure is kept for `gputrace doctor`.
#pragma once

#include "userspace/loader/pairing_config.h"
#include "userspace/loader/shed_config.h"
#include "userspace/loader/features.h"
#include "userspace/loader/hooks.h"
#include "userspace/loader/shared_maps.h"
#include "userspace/loader/skeleton.h"
#include "userspace/util/result.h"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gputrace {

struct TraceConfig {
  bool all_devices = false;          // trace every device's DMA, not only GPUs
  std::vector<std::string> devices;  // extra device names (PCI addresses) to trace
  RingSizes rings;
  std::optional<Flavour> prefer;     // try this flavour first where a hook offers it (testing)
  bool kernel_pairing = true;        // pair DMA mappings in the kernel (off: every event crosses the ring)
  PairingConfig pairing;
  ShedThresholds shedding;
  std::string pressure_proc = "/proc";  // where host pressure is read (a host /proc mounted elsewhere)
};

struct HookStatus {
  const HookSpec* spec = nullptr;
  std::optional<Flavour> flavour;  // attached with this flavour, if any
  std::string target;              // tracepoint or function it attached to
  std::vector<std::string> notes;  // why each better flavour was not used, in order
  bool attached() const { return flavour.has_value(); }
};

struct ProgramStats {
  std::string name;
  uint64_t run_count = 0;         // needs kernel.bpf_stats_enabled=1
  uint64_t recursion_misses = 0;  // runs skipped because the program was already active on that CPU
};

class KernelTracer {
 public:
  // Loads and attaches; fails only when nothing at all could be attached.
  static Result<std::unique_ptr<KernelTracer>> start(const Features& features, const TraceConfig& config);

  const std::vector<HookStatus>& hooks() const { return hooks_; }
  const SharedMaps& maps() const { return maps_; }
  std::vector<ProgramStats> program_stats() const;
  // A loaded program of one of the collectors (tests drive raw_tp programs directly).
  bpf_program* program(std::string_view object, std::string_view name) const;

 private:
  explicit KernelTracer(SharedMaps maps) : maps_(std::move(maps)) {}
  Result<void> load_object(const Features& features, const TraceConfig& config, std::string_view object);
  Result<void> fill_device_names(const TraceConfig& config);
  void attach_all();

  SharedMaps maps_;
  std::vector<HookStatus> hooks_;
  std::vector<Skeleton> objects_;
  std::map<std::string_view, size_t> object_index_;  // hook table's object name -> objects_
};

}  // namespace gputrace
