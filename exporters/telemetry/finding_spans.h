// The spans findings stand for: a finding that covers a stretch of time (a stall, a fault, a
// leak between map and owner exit) is a span on the trace timeline, and its log record points
// at that span. They have a budget of their own, apart from the pause and copy spans of
// --max-spans: a busy host fills that budget with copies every interval, and the stalls and
// faults are the spans an on-call engineer opens the trace for.
//
//   std::vector<TimelineSpan> spans = record_spans.take();
//   FindingSpans f = finding_spans(new_findings, 1024);  // f.spans[i].finding indexes new_findings
//   spans.insert(spans.end(), f.spans.begin(), f.spans.end());  not_kept += f.not_kept;
#pragma once

#include "userspace/model/finding.h"
#include "userspace/model/timeline_span.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gputrace::telemetry {

// Whether a finding covers time (start_ns set); one that does not makes no span.
bool finding_has_span(const Finding& f);

// The span of findings[index]; its `finding` is index.
TimelineSpan span_of_finding(const Finding& f, size_t index);

struct FindingSpans {
  std::vector<TimelineSpan> spans;
  uint64_t not_kept = 0;  // findings with a time range beyond the budget
};

// The spans of the findings that cover time, the first `budget` of them.
FindingSpans finding_spans(std::span<const Finding> findings, size_t budget);

}  // namespace gputrace::telemetry
