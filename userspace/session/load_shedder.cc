#include "userspace/session/load_shedder.h"

#include <algorithm>

namespace gputrace {

uint32_t pressure_reasons(const PressureSample& s, const ShedThresholds& t) {
  uint32_t r = 0;
  if (s.host.cpu_busy_pct && *s.host.cpu_busy_pct > t.cpu_pct) r |= GT_SHED_REASON_CPU;
  if (s.host.memory_some_avg10 && *s.host.memory_some_avg10 > t.memory_psi) r |= GT_SHED_REASON_MEMORY_PSI;
  if (s.host.memory_available_pct && *s.host.memory_available_pct < t.memory_available_pct)
    r |= GT_SHED_REASON_MEMORY_AVAILABLE;
  if (s.longest_gc_pause_ns > t.gc_pause_ns) r |= GT_SHED_REASON_GC_PAUSE;
  return r;
}

std::optional<uint32_t> LoadShedder::update(const PressureSample& s, uint64_t now_ns) {
  if (!t_.enabled) return std::nullopt;
  reasons_ = pressure_reasons(s, t_);
  const uint32_t before = level_;
  if (reasons_) {
    calm_since_.reset();
    if (!pressed_since_) pressed_since_ = now_ns;
    if (now_ns - *pressed_since_ >= t_.sustain_ns && level_ < GT_SHED_LEVEL_MAX) {
      ++level_;
      pressed_since_ = now_ns;  // the next step needs another sustained stretch
    }
  } else {
    pressed_since_.reset();
    if (!calm_since_) calm_since_ = now_ns;
    if (now_ns - *calm_since_ >= t_.recover_ns && level_ > 0) {
      --level_;
      calm_since_ = now_ns;
    }
  }
  return level_ != before ? std::optional(level_) : std::nullopt;
}

uint32_t shed_flags_of(uint32_t level) {
  uint32_t f = 0;
  if (level >= 1) f |= GT_SHED_STACKS;
  if (level >= 2) f |= GT_SHED_GPU_API;
  if (level >= 3) f |= GT_SHED_GC_MARKERS;
  return f;
}

}  // namespace gputrace
