// SpanCollector: gathers the TimelineSpans of engine records the trace exporters ship — GC
// pauses and GPU transfers — between two exports, within a fixed budget. (Findings become
// spans on the telemetry side, with a budget of their own: exporters/telemetry/finding_spans.h.)
//
//   Pipeline pipeline({.spans = SpanCollectorConfig{.max_pending = 4096}});  // it observes the records
//   ... every interval:
//   std::vector<TimelineSpan> batch = pipeline.spans()->take();
//
// An inference server can make tens of thousands of copies a second, and a CPython process in
// a hot loop thousands of young-generation collections; a span for each would cost more than
// the tracing. Pauses and copies shorter than min_duration_ns make no span (the pause
// histograms and copy counters still count them); spans beyond max_pending in one interval
// are counted in dropped() (exported as the loss counter "spans_not_kept") rather than kept.
#pragma once

#include "userspace/decode/record.h"
#include "userspace/model/timeline_span.h"

#include <cstdint>
#include <vector>

namespace gputrace {

struct SpanCollectorConfig {
  size_t max_pending = 4096;         // spans kept between two take() calls
  uint64_t min_duration_ns = 0;      // GC pauses and GPU copies shorter than this make no span
};

class SpanCollector {
 public:
  explicit SpanCollector(SpanCollectorConfig config = {}) : config_(config) {}

  // Engine record observer: keeps GT_EV_GC_PAUSE and GT_EV_GPU_MEMCPY, ignores the rest.
  void on_record(const Record& r);
  // The spans gathered since the previous take(), in the order they were seen.
  std::vector<TimelineSpan> take();
  uint64_t dropped() const { return dropped_; }
  uint64_t kept() const { return kept_; }

 private:
  void keep(TimelineSpan span);

  SpanCollectorConfig config_;
  std::vector<TimelineSpan> pending_;
  uint64_t dropped_ = 0;
  uint64_t kept_ = 0;
};

}  // namespace gputrace
