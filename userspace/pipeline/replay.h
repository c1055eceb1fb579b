// Replays a capture file through a Pipeline: what `gputrace report`, `top --replay`,
// `daemon --replay`, the scenario tests and the benches analyse.
#pragma once

#include "userspace/pipeline/pipeline.h"

#include <memory>
#include <string>

namespace gputrace {

// Reads every record of path into a new pipeline and finishes it. A capture cut short is
// replayed up to its last whole chunk, says so on stderr and in the pipeline's input.
Result<std::unique_ptr<Pipeline>> replay_capture(const std::string& path, PipelineOptions options = {});

// The same, into an existing pipeline (not finished: the caller decides when), saying
// nothing of a truncated capture but in the pipeline's input and the summary.
Result<CaptureReadSummary> feed_capture(CaptureReader& reader, const std::string& path, Pipeline& pipeline);

}  // namespace gputrace
