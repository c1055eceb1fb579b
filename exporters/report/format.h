// Output formats of `gputrace report`.
#pragma once

#include <optional>
#include <string_view>

namespace gputrace {

enum class ReportFormat { Text, Json };

std::optional<ReportFormat> parse_report_format(std::string_view name);
std::string_view to_string(ReportFormat f);

}  // namespace gputrace
