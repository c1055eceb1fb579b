#include "report/format.h"

namespace gputrace {

std::optional<ReportFormat> parse_report_format(std::string_view name) {
  if (name == "text") return ReportFormat::Text;
  if (name == "json") return ReportFormat::Json;
  return std::nullopt;
}

std::string_view to_string(ReportFormat f) {
  switch (f) {
    case ReportFormat::Text: return "text";
    case ReportFormat::Json: return "json";
  }
  return "?";
}

}  // namespace gputrace
