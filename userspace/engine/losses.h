// Every loss counter the engine knows: those the kernel side reported (GT_EV_LOSS records:
// ring full, stack, recursion misses, GPU batches ...) and the engine's own. Reports and
// exporters list them all, zero or not, so "nothing lost" can be told from "not measured".
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gputrace {

class Engine;

struct LossCounter {
  std::string name;
  uint64_t count = 0;
  const char* source = "";  // "bpf" (reported by the tracer), "engine", or "gpu" (the injection libraries)
};

std::vector<LossCounter> engine_losses(const Engine& engine);

}  // namespace gputrace
