#include "exporters/telemetry/finding_spans.h"

namespace gputrace::telemetry {

bool finding_has_span(const Finding& f) { return f.start_ns != 0 && f.end_ns >= f.start_ns; }

TimelineSpan span_of_finding(const Finding& f, size_t index) {
  TimelineSpan s;
  // a stall is an event in its own right on a GPU timeline; other findings are named by kind
  s.name = f.kind == FindingKind::pcie_stall ? "pcie.stall" : "finding." + std::string(f.kind_name());
  s.start_ns = f.start_ns;
  s.end_ns = f.end_ns;
  s.pid = f.pid;
  s.device = f.device;
  s.error = f.severity == Severity::Critical;
  s.finding = index;
  s.attributes["kind"] = std::string(f.kind_name());
  s.attributes["severity"] = to_string(f.severity);
  s.attributes["message"] = f.message;
  if (!f.comm.empty()) s.attributes["comm"] = f.comm;
  s.evidence = f.evidence;
  return s;
}

FindingSpans finding_spans(std::span<const Finding> findings, size_t budget) {
  FindingSpans out;
  for (size_t i = 0; i < findings.size(); ++i) {
    if (!finding_has_span(findings[i])) continue;
    if (out.spans.size() >= budget) {
      ++out.not_kept;
      continue;
    }
    out.spans.push_back(span_of_finding(findings[i], i));
  }
  return out;
}

}  // namespace gputrace::telemetry
