// Replays a capture file through a fresh engine (and the GC pause statistics and the
// timeline beside it): what `gputrace report` and the scenario tests analyse.
#pragma once

#include "engine/engine.h"
#include "gc/pause_stats.h"
#include "report/report.h"
#include "timeline/timeline.h"
#include "util/result.h"

#include <memory>
#include <string>

namespace gputrace {

struct Replay {
  std::unique_ptr<Engine> engine;  // finished
  std::unique_ptr<gc::PauseStats> pauses;
  std::unique_ptr<TimelineRecorder> timeline;  // finished: for the HTML and Perfetto files
  ReportHeader header;

  ReportModel model() const;  // the report model, GC section included
};

Result<Replay> replay_capture(const std::string& path, const EngineConfig& config = {});

}  // namespace gputrace
