// The loss counters of a run as the report and the exporters list them: those the tracer
// reported in GT_EV_LOSS records (kernel, live source), then the engine's and the injection
// libraries', in the loss table's order (model/loss_counters.h), zero or not, so "nothing
// lost" can be told from "not measured".
#pragma once

#include "userspace/model/loss_counters.h"

#include <vector>

namespace gputrace {

class Engine;

// The engine's own counters and the libraries' (summed over each process's latest status).
LossCounts engine_loss_counts(const Engine& engine);

std::vector<LossCounter> engine_losses(const Engine& engine);

}  // namespace gputrace
