// TelemetrySink: the one narrow interface behind which the Prometheus and OTLP exporters sit.
//
// The daemon's pipeline thread owns the engine, which is single-threaded. Every interval it
// takes a HostSnapshot (plain data), builds the MetricModel from it once (both sinks render
// the same model, and the choice of named processes is made in one place), gathers the spans
// and findings that are new since the previous interval, and pushes them as one
// TelemetryBatch to every sink. A sink copies or
// renders what it needs inside publish() and hands the slow part (serving scrapes, writing
// files, POSTing) to its own thread: publish() never waits on a network or a disk, so a slow
// collector or a stuck scraper cannot stall event processing. That is why the model is push:
// a scrape-time pull would have to reach into the engine from another thread.
//
// Nothing here knows of BPF, CUPTI or the engine: only HostSnapshot, MetricModel, Finding and
// TimelineSpan.
//
//   PrometheusExporter prom(...);  OtlpExporter otlp(...);
//   std::vector<TelemetrySink*> sinks{&prom, &otlp};
//   every interval:  selection.update(snapshot);  model = build_metric_model(snapshot, selection);
//                    for (auto* s : sinks) s->publish(batch);
//   losses:          merge every s->losses() into the next snapshot's extra_losses
//   at exit:         every s->shutdown(deadline) at once, on threads of their own
#pragma once

#include "userspace/model/finding.h"
#include "userspace/model/host_snapshot.h"
#include "userspace/model/timeline_span.h"
#include "exporters/telemetry/metric_model.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <span>
#include <string>

namespace gputrace::telemetry {

// Event timestamps are CLOCK_MONOTONIC; OTLP wants Unix time. One pair of readings of both
// clocks, taken as close together as the host allows, maps one onto the other. A replay uses
// the pair its capture recorded, so its spans carry the dates of the original run.
struct ClockMapping {
  uint64_t monotonic_ns = 0;
  uint64_t realtime_ns = 0;
  uint64_t to_unix_ns(uint64_t mono_ns) const {
    const int64_t shifted = static_cast<int64_t>(mono_ns - monotonic_ns) + static_cast<int64_t>(realtime_ns);
    return shifted > 0 ? static_cast<uint64_t>(shifted) : 0;
  }
};

struct TelemetryBatch {
  const HostSnapshot* snapshot = nullptr;    // required: the state now (cumulative counters)
  const MetricModel* metrics = nullptr;      // required: built from snapshot, once per interval
  std::span<const TimelineSpan> new_spans;   // since the previous batch (a finding's span: its
                                             // `finding` indexes new_findings)
  std::span<const Finding> new_findings;     // since the previous batch
  ClockMapping clock;
  uint64_t start_unix_ns = 0;  // when counting began: the start time of every cumulative series
  uint64_t now_unix_ns = 0;    // when this batch was made (OTLP observed time)
  // A replay's metrics are stamped with the time of its newest record, so they line up with
  // its spans and logs; a live daemon's with now_unix_ns, because the exporters' own counters
  // move on an idle host whose newest record stays put, and a receiver refuses a second,
  // different sample at the same time.
  bool replay = false;
  uint64_t metrics_unix_ns() const {
    return replay && snapshot && snapshot->taken_ns ? clock.to_unix_ns(snapshot->taken_ns) : now_unix_ns;
  }
};

class TelemetrySink {
 public:
  virtual ~TelemetrySink() = default;
  // Called on the pipeline thread once per interval. Must return promptly: no network or
  // disk I/O here. The batch's views are valid only during the call.
  virtual void publish(const TelemetryBatch& batch) = 0;
  // The sink's own loss counters (what it dropped, and why), cumulative; the daemon exports
  // them with every other loss counter. Thread-safe.
  virtual std::map<std::string, uint64_t> losses() const = 0;
  // Stops the sink's thread after it has sent what it holds, waiting at most `deadline`.
  virtual void shutdown(std::chrono::milliseconds deadline) = 0;
};

}  // namespace gputrace::telemetry
