// The report of a run, rendered from the read model (model/host_snapshot.h): as JSON
// (schema "gputrace.report/1", docs/report-schema.md) for machines and as text for people.
// The other report files (Markdown, HTML, Perfetto) are in report_files.h.
#pragma once

#include "userspace/model/host_snapshot.h"
#include "exporters/report/format.h"

#include <string>
#include <vector>

namespace gputrace {

inline constexpr const char* kReportSchema = "gputrace.report/1";

// The JSON document: fixed key order, lists in a defined order, so the same input gives the
// same bytes; indented, newline-terminated; bytes that are not UTF-8 become U+FFFD.
std::string render_report_json(const HostSnapshot& s);
std::string render_text_report(const HostSnapshot& s);

// The orders every rendering of the report lists things in: findings worst first (then by
// time), devices in the order gputrace first saw them.
std::vector<const Finding*> findings_worst_first(const HostSnapshot& s);
std::vector<const DeviceRow*> devices_in_report_order(const HostSnapshot& s);

}  // namespace gputrace
