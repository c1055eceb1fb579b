// Report files: what a person attaches to an incident, from a capture, a live view or the
// daemon. One call writes all of them into a directory, each replaced atomically (written
// to a temporary name, then renamed), so a reader never sees half a file:
//
//   summary.md   what happened, worst findings first with evidence (report/markdown_report.h)
//   report.html  self-contained page with an SVG timeline and charts (report/html_report.h)
//   trace.json   Perfetto / Chrome trace of the timeline (report/perfetto_trace.h)
//   report.json  the read model as JSON (gputrace.report/1, docs/report-schema.md)
//
// The snapshot given must have every section the files show (a full take_snapshot, pause
// statistics included) and the timeline must be finished (TimelineRecorder::finish).
#pragma once

#include "userspace/model/host_snapshot.h"
#include "userspace/model/timeline.h"
#include "exporters/report/format.h"
#include "userspace/util/result.h"

#include <string>
#include <vector>

namespace gputrace {

// One format as text. Html and Perfetto draw the timeline; the others ignore it.
std::string render_report_file(ReportFormat format, const HostSnapshot& s, const Timeline& timeline);

// Writes the four files into dir (created 0700 if missing; files 0600, as the daemon runs as
// root and reports name processes and devices). Returns the paths written.
Result<std::vector<std::string>> write_report_files(const std::string& dir, const HostSnapshot& s,
                                                    const Timeline& timeline);

// Writes text to path through a temporary file in the same directory and a rename.
Result<void> replace_file(const std::string& path, const std::string& text);

}  // namespace gputrace
