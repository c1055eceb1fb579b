#include "report/replay.h"

#include "capture/capture.h"
#include "report/gc_section.h"
#include "util/log.h"

namespace gputrace {

Result<Replay> replay_capture(const std::string& path, const EngineConfig& config) {
  auto reader = CaptureReader::open(path);
  if (!reader) return tl::unexpected(reader.error());
  Replay out{std::make_unique<Engine>(config), std::make_unique<gc::PauseStats>(), nullptr, {}};
  out.timeline = std::make_unique<TimelineRecorder>(*out.engine);
  gc::PauseStats& pauses = *out.pauses;
  TimelineRecorder& timeline = *out.timeline;
  out.engine->set_record_observer([&pauses, &timeline](const Record& r) {
    pauses.on_record(r);
    timeline.on_record(r);
  });
  auto summary = (*reader)->for_each([&](const Record& r) { out.engine->push(r); });
  if (!summary) return tl::unexpected(summary.error());
  if (summary->truncated) log_warning("{}", summary->truncation_note);
  out.engine->finish();
  out.engine->set_record_observer({});
  out.timeline->finish();
  out.header = report_header_from_capture((*reader)->host(), path, *summary);
  return out;
}

ReportModel Replay::model() const {
  ReportModel model = build_report_model(*engine, header);
  add_gc_section(model, *pauses);
  return model;
}

}  // namespace gputrace
