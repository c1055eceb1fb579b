// TimelineSpan: one thing that happened over a stretch of time — a GC pause, a GPU transfer, a
// stall or another finding with a time range — as plain data for the trace exporters.
//
// HostSnapshot holds aggregates; spans are the individual events behind some of them. The
// daemon's SpanCollector (span_collector.h) makes them from engine records, and the telemetry
// side (exporters/telemetry/finding_spans.h) from findings; each is handed to the exporters
// once, and exporters see only this struct.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace gputrace {

struct TimelineSpan {
  std::string name;         // "gc.pause", "gpu.memcpy", "pcie.stall", "finding.<kind>"
  uint64_t start_ns = 0;    // CLOCK_MONOTONIC
  uint64_t end_ns = 0;      // >= start_ns
  uint32_t pid = 0;         // process concerned, 0 if none
  std::string device;       // device name (PCI address) when one is concerned
  bool error = false;       // the span marks a problem (a critical finding)
  // A finding's span: the finding's index in the batch's new_findings, so that its log record
  // can point at the span. Empty for a span of an event (a pause, a copy).
  std::optional<size_t> finding;
  // Facts about the span: scalars, arrays and objects (encoded as OTLP AnyValue).
  nlohmann::ordered_json attributes = nlohmann::ordered_json::object();
  // The numbers behind a finding span (Finding::evidence), kept apart from the attributes.
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();
};

}  // namespace gputrace
