// The report as one self-contained HTML page: inline CSS and inline SVG, no script and no
// network reference, so it opens from an incident ticket's attachment anywhere. Sections:
// what happened, an SVG timeline (per device outstanding DMA mappings, per process GC
// pauses, per GPU stream kernels and copies, findings on their subject's lane), charts
// (outstanding mappings per device, GC pause durations over time), every finding worst
// first with its evidence, devices, mapping owners, GC pauses and loss counters.
#pragma once

#include "userspace/model/host_snapshot.h"
#include "userspace/model/timeline.h"

#include <string>

namespace gputrace {

std::string render_html_report(const HostSnapshot& s, const Timeline& timeline);

}  // namespace gputrace
