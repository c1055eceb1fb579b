#include "userspace/pipeline/pipeline.h"

namespace gputrace {

Pipeline::Pipeline(PipelineOptions options) : options_(std::move(options)), engine_(options_.engine) {
  if (options_.timeline) timeline_.emplace(engine_, options_.timeline_limits);
  if (options_.spans) spans_.emplace(*options_.spans);
  engine_.set_record_observer([this](const Record& r) { observe(r); });
}

// After the engine's own analyzers, in event-time order.
void Pipeline::observe(const Record& record) {
  pauses_.on_record(record);
  if (timeline_) timeline_->on_record(record);
  if (spans_) spans_->on_record(record);
}

void Pipeline::finish() {
  engine_.finish();
  if (timeline_) timeline_->finish();
}

HostSnapshot Pipeline::snapshot(const SnapshotRequest& request) const {
  SnapshotInputs in{.engine = &engine_,
                    .pauses = &pauses_,
                    .host = &input_.host,
                    .source_path = input_.path,
                    .truncated = input_.truncated,
                    .truncation_note = input_.truncation_note,
                    .container_of = request.container_of,
                    .identities = request.identities,
                    .max_findings = request.max_findings};
  // Records of a capture that failed validation stop its replay with an error, so this is
  // zero whenever a snapshot exists; it is listed so that "none" is a measurement. (A live
  // run counts its own, ring_decode_errors.)
  if (input_.path != "live") in.caller_losses.push_back({std::string(loss_name(Loss::decode_errors)), 0, "input"});
  in.caller_losses.insert(in.caller_losses.end(), request.caller_losses.begin(), request.caller_losses.end());
  return take_snapshot(in);
}

const Timeline* Pipeline::timeline() {
  if (!timeline_) return nullptr;
  timeline_->finish();
  return &timeline_->timeline();
}

}  // namespace gputrace
