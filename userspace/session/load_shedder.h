// LoadShedder: when the host is under pressure, gputrace gives up its optional work in steps
// and takes it back when the pressure has passed, as our users' production rules ask of an
// always-on agent. A pure policy: readings and the time in, the level out; the live session
// applies the level (userspace/session/live_source.cc) and records each change.
//
// Levels, each shedding what the one before did and more:
//   1  mapping-site kernel stacks of sites not seen before (BPF)
//   2  CUDA API records from the injection libraries (dropped on arrival)
//   3  GC pause-begin markers (BPF); finished pauses are still recorded, every one
// Pressure is any of: CPU busy above cpu_pct, PSI memory "some avg10" above memory_psi,
// MemAvailable below memory_available_pct, a traced GC pause longer than gc_pause_ns. A level
// is added after `sustain` of pressure (and another after each further `sustain`); one is
// taken back after `recover` without any.
#pragma once

#include "userspace/host/host_pressure.h"
#include "userspace/loader/shed_config.h"

extern "C" {
#include "bpf/common.h"
}

#include <cstdint>
#include <optional>

namespace gputrace {

// What the shedder was told for one interval.
struct PressureSample {
  HostPressure host;
  uint64_t longest_gc_pause_ns = 0;  // of the traced processes, since the last sample
};

// What is pressing, as enum gt_shed_reason flags.
uint32_t pressure_reasons(const PressureSample& s, const ShedThresholds& t);

class LoadShedder {
 public:
  explicit LoadShedder(ShedThresholds t) : t_(t) {}

  // Returns the new level when it changed.
  std::optional<uint32_t> update(const PressureSample& s, uint64_t now_ns);

  uint32_t level() const { return level_; }
  uint32_t reasons() const { return reasons_; }  // of the latest sample

 private:
  ShedThresholds t_;
  uint32_t level_ = 0;
  uint32_t reasons_ = 0;
  std::optional<uint64_t> pressed_since_, calm_since_;
};

// The BPF and ingest switches a level turns on (enum gt_shed_flags).
uint32_t shed_flags_of(uint32_t level);

}  // namespace gputrace
