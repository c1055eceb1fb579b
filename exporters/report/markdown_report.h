// The report as Markdown, the summary a person attaches to an incident: a few sentences
// saying what happened, then every finding worst first with its evidence, then devices,
// mapping owners, GC pauses and what was lost. Rendered from the read model alone, so a
// capture, a live run and the daemon's SIGUSR1 dump give the same document.
#pragma once

#include "exporters/report/report.h"

#include <string>
#include <vector>

namespace gputrace {

std::string render_markdown_report(const HostSnapshot& s);

// The "what happened" sentences (also the HTML report's lead paragraph), one per entry.
std::vector<std::string> report_narrative(const HostSnapshot& s);

}  // namespace gputrace
