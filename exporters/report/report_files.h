// Report files: what a person attaches to an incident, from a capture, a live view or the
// daemon. One call writes all of them into a directory, each replaced atomically (written
// to a temporary name, then renamed), so a reader never sees half a file:
//
//   summary.md   what happened, worst findings first with evidence (report/markdown_report.h)
//   report.html  self-contained page with an SVG timeline and charts (report/html_report.h)
//   trace.json   Perfetto / Chrome trace of the timeline (report/perfetto_trace.h)
//   report.json  the model itself (gputrace.report/1, docs/report-schema.md)
//
// Wiring, e.g. in a daemon (write from the main loop, never from the signal handler):
//   TimelineRecorder timeline(engine);
//   engine.set_record_observer([&](const Record& r) { pauses.on_record(r); timeline.on_record(r); });
//   ... on SIGUSR1 (set a flag) and at exit:
//   timeline.finish();
//   auto written = write_report_files(dir, full_report_model(engine, header, &pauses), timeline.timeline());
#pragma once

#include "gc/pause_stats.h"
#include "report/format.h"
#include "report/report.h"
#include "timeline/timeline.h"
#include "util/result.h"

#include <string>
#include <vector>

namespace gputrace {

// The report model with every section the views show (the GC section when pauses is given).
ReportModel full_report_model(const Engine& engine, const ReportHeader& header, const gc::PauseStats* pauses);

// One format as text. Html and Perfetto draw the timeline; the others ignore it.
std::string render_report_file(ReportFormat format, const ReportModel& model, const Timeline& timeline);

// Writes the four files into dir (created 0700 if missing; files 0600, as the daemon runs as
// root and reports name processes and devices). Returns the paths written.
Result<std::vector<std::string>> write_report_files(const std::string& dir, const ReportModel& model,
                                                    const Timeline& timeline);

// Writes text to path through a temporary file in the same directory and a rename.
Result<void> replace_file(const std::string& path, const std::string& text);

}  // namespace gputrace
