// The report's GPU section: what each process ran and copied on its GPUs (CUPTI), the
// transfer baselines the stall rule learned, and the correlation's own counters.
#pragma once

#include "engine/engine.h"

#include <nlohmann/json.hpp>

#include <string>

namespace gputrace {

nlohmann::ordered_json gpu_section(const Engine& engine);
void render_gpu_section(std::string& out, const nlohmann::ordered_json& gpu);

}  // namespace gputrace
