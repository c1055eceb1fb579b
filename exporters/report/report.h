// The report of a run: one JSON model built from the engine's state (schema
// "gputrace.report/1", docs/report-schema.md), rendered as JSON or as text for people.
#pragma once

#include "capture/capture.h"
#include "engine/engine.h"
#include "report/format.h"

#include <nlohmann/json.hpp>

#include <string>

namespace gputrace {

// Where the data came from; the CLI fills it.
struct ReportHeader {
  std::string source;  // capture path, or "live"
  CaptureHostInfo host;
  bool truncated = false;
  std::string truncation_note;
};

ReportHeader report_header_from_capture(const CaptureHostInfo& host, const std::string& path,
                                        const CaptureReadSummary& summary);
ReportHeader report_header_live(const CaptureHostInfo& host);

nlohmann::ordered_json build_report_model(const Engine& engine, const ReportHeader& header);
std::string render_text_report(const nlohmann::ordered_json& model);
std::string render_report(const Engine& engine, const ReportHeader& header, ReportFormat format);

}  // namespace gputrace
