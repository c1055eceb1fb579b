// The Prometheus text exposition format (version 0.0.4) of a MetricModel: what `/metrics`
// serves and what the node_exporter textfile holds.
//
// Every family gets one HELP and one TYPE line, then its samples; families are sorted by name
// and samples keep the model's order (devices by name, processes by pid, "other" last), so two
// renders of the same snapshot are byte-identical. Process series carry the labels pid and comm
// (gputrace_process_info adds container and runtime, to join on pid); device series carry
// device. Labels with an empty value are left out.
//
//   std::string text = render_prometheus_text(build_metric_model(snapshot, selection));
#pragma once

#include "exporters/telemetry/metric_model.h"

#include <string>
#include <string_view>

namespace gputrace::prometheus {

inline constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string render_prometheus_text(const telemetry::MetricModel& model);

// Exposed for the tests: the format's escaping rules and number syntax.
std::string escape_label_value(std::string_view v);  // \ " and newline escaped, valid UTF-8
std::string escape_help(std::string_view v);         // \ and newline escaped, valid UTF-8
std::string format_value(double v);                  // shortest round-trip; +Inf, -Inf, NaN
bool valid_metric_name(std::string_view name);       // [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_label_name(std::string_view name);        // [a-zA-Z_][a-zA-Z0-9_]*, not "__..."

}  // namespace gputrace::prometheus
