#include "exporters/report/format.h"

namespace gputrace {

std::optional<ReportFormat> parse_report_format(std::string_view name) {
  if (name == "text") return ReportFormat::Text;
  if (name == "json") return ReportFormat::Json;
  if (name == "markdown" || name == "md") return ReportFormat::Markdown;
  if (name == "html") return ReportFormat::Html;
  if (name == "perfetto") return ReportFormat::Perfetto;
  return std::nullopt;
}

std::string_view to_string(ReportFormat f) {
  switch (f) {
    case ReportFormat::Text: return "text";
    case ReportFormat::Json: return "json";
    case ReportFormat::Markdown: return "markdown";
    case ReportFormat::Html: return "html";
    case ReportFormat::Perfetto: return "perfetto";
  }
  return "?";
}

}  // namespace gputrace
