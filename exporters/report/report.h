// The report of a run: one JSON model built from the engine's state (schema
// "gputrace.report/1", docs/report-schema.md), written as JSON or as text for people.
//
//   ReportHeader header = report_header_from_capture(host, path, summary);  // or _live
//   header.input_losses["decode_errors"] = n;                               // the CLI's own counters
//   write_report(build_report_model(engine, header), ReportFormat::Json, std::cout);
#pragma once

#include "capture/capture.h"
#include "engine/engine.h"
#include "report/format.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <ostream>
#include <string>

namespace gputrace {

// Where the data came from; the CLI fills it.
struct ReportHeader {
  std::string source;  // capture path, or "live"
  CaptureHostInfo host;  // hostname, kernel, boot id, gputrace version, clock calibration
  bool truncated = false;
  std::string truncation_note;
  // Loss counters owned by the reader of the input (decode errors, ...). "decode_errors"
  // is always reported, zero or not.
  std::map<std::string, uint64_t> input_losses;
};

ReportHeader report_header_from_capture(const CaptureHostInfo& host, const std::string& path,
                                        const CaptureReadSummary& summary);
ReportHeader report_header_live(const CaptureHostInfo& host);

// The report model: a JSON document with a fixed key order (the same input gives the same
// bytes). Text and JSON are two renderings of it.
using ReportModel = nlohmann::ordered_json;

ReportModel build_report_model(const Engine& engine, const ReportHeader& header);
// The model as JSON text (indented, newline-terminated); bytes that are not UTF-8 become U+FFFD.
std::string dump_report_json(const ReportModel& model);
void write_report(const ReportModel& model, ReportFormat format, std::ostream& out);

std::string render_text_report(const ReportModel& model);
std::string render_report(const Engine& engine, const ReportHeader& header, ReportFormat format);

}  // namespace gputrace
