// Pipeline: the one analysis chain, built the same way by every command (live, record's
// report, report, daemon, top) and by the benches:
//
//   records (LiveSource or a capture) -> Engine (reorder windows, tables, analyzers,
//   correlation) -> observers (GC pause statistics, timeline, spans) -> HostSnapshot
//
//   Pipeline pipeline(PipelineOptions{.engine = config});
//   pipeline.set_input({.path = "run.gtrace", .host = reader->host()});
//   ... pipeline.push(record) for every record; live: pipeline.advance_to(now) now and then
//   pipeline.finish();
//   HostSnapshot s = pipeline.snapshot();                 // what every view and exporter renders
//   const Timeline* t = pipeline.timeline();              // the report files' timeline
#pragma once

#include "userspace/capture/capture.h"
#include "userspace/decode/record.h"
#include "userspace/engine/engine.h"
#include "userspace/gc/pause_stats.h"
#include "userspace/model/host_snapshot.h"
#include "userspace/snapshot/snapshot_builder.h"
#include "userspace/snapshot/span_collector.h"
#include "userspace/timeline/timeline_recorder.h"
#include "userspace/util/result.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gputrace {

struct PipelineOptions {
  EngineConfig engine;
  bool timeline = true;                      // keep the report files' timeline (HTML, Perfetto)
  TimelineLimits timeline_limits;
  std::optional<SpanCollectorConfig> spans;  // collect spans for trace export (the daemon)
};

// Where the records come from, as the read model's source says.
struct PipelineInput {
  std::string path = "live";  // the capture's path, or "live"
  CaptureHostInfo host;
  bool truncated = false;     // the capture was cut short (and where)
  std::string truncation_note;
};

// What a snapshot should carry beyond the analysis: set per call by views and exporters.
struct SnapshotRequest {
  size_t max_findings = 0;  // the newest N findings, 0 for all
  std::function<std::string(uint32_t pid)> container_of;
  ProcessIdentities* identities = nullptr;
  std::vector<LossCounter> caller_losses;  // the daemon's and its exporters' counters
};

class Pipeline {
 public:
  explicit Pipeline(PipelineOptions options = {});
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  void set_input(PipelineInput input) { input_ = std::move(input); }
  const PipelineInput& input() const { return input_; }

  void push(const Record& record) { engine_.push(record); }
  // Live: everything older than now less the reorder window is analysed.
  void advance_to(uint64_t now_ns) { engine_.advance_to(now_ns); }
  // End of input: every record is analysed and every open judgement concluded.
  void finish();

  HostSnapshot snapshot(const SnapshotRequest& request = {}) const;
  // The timeline up to now (finishing it first: last counter samples, findings); nullptr
  // when the options left it out.
  const Timeline* timeline();

  const Engine& engine() const { return engine_; }
  const gc::PauseStats& pauses() const { return pauses_; }
  SpanCollector* spans() { return spans_ ? &*spans_ : nullptr; }

 private:
  void observe(const Record& record);

  PipelineOptions options_;
  PipelineInput input_;
  Engine engine_;
  gc::PauseStats pauses_;
  std::optional<TimelineRecorder> timeline_;
  std::optional<SpanCollector> spans_;
};

}  // namespace gputrace
