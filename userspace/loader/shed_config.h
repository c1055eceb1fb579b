// ShedThresholds: when the live session sheds its optional work (userspace/session/
// load_shedder.h), set with the tracing options (--shed-*) and carried in TraceConfig.
#pragma once

#include <cstdint>

namespace gputrace {

struct ShedThresholds {
  bool enabled = true;
  double cpu_pct = 85;
  double memory_psi = 10;           // PSI memory some avg10, percent
  double memory_available_pct = 8;
  uint64_t gc_pause_ns = 200'000'000;
  uint64_t sustain_ns = 10'000'000'000;
  uint64_t recover_ns = 30'000'000'000;
};

}  // namespace gputrace
