// The report's GC section: pauses of managed runtimes per process (gc::PauseStats).
#pragma once

#include "gc/pause_stats.h"
#include "report/report.h"

namespace gputrace {

// Adds "gc_pauses" (one entry per traced process, by pid) to the model.
void add_gc_section(ReportModel& model, const gc::PauseStats& pauses);

}  // namespace gputrace
