// `--threshold NAME=VALUE`: the analysis thresholds a user may change (docs/findings.md
// explains each default), shared by every command that runs the engine.
#pragma once

#include "userspace/cli/options.h"
#include "userspace/model/analysis_config.h"
#include "userspace/util/result.h"

namespace gputrace {

void declare_analysis_options(Options& o);
// Applies every --threshold to config; an unknown name or a bad value is an error that
// lists what is accepted.
Result<void> apply_analysis_options(const Options& o, EngineConfig& config);

extern const char* const kAnalysisOptionsHelp;

}  // namespace gputrace
