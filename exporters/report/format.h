// Output formats of `gputrace report`.
#pragma once

#include <optional>
#include <string_view>

namespace gputrace {

// Text and Json render the report model alone (write_report); Markdown, Html and Perfetto
// are the report files (report/report_files.h), the last two with the run's timeline.
enum class ReportFormat { Text, Json, Markdown, Html, Perfetto };

std::optional<ReportFormat> parse_report_format(std::string_view name);
std::string_view to_string(ReportFormat f);

}  // namespace gputrace
