#include "userspace/pipeline/replay.h"

#include "userspace/util/log.h"

namespace gputrace {

Result<CaptureReadSummary> feed_capture(CaptureReader& reader, const std::string& path, Pipeline& pipeline) {
  pipeline.set_input({.path = path, .host = reader.host()});
  auto summary = reader.for_each([&](const Record& r) { pipeline.push(r); });
  if (!summary) return tl::unexpected(summary.error());
  if (summary->truncated)
    pipeline.set_input({.path = path, .host = reader.host(), .truncated = true,
                        .truncation_note = summary->truncation_note});
  return summary;
}

Result<std::unique_ptr<Pipeline>> replay_capture(const std::string& path, PipelineOptions options) {
  auto reader = CaptureReader::open(path);
  if (!reader) return tl::unexpected(reader.error());
  auto pipeline = std::make_unique<Pipeline>(std::move(options));
  auto summary = feed_capture(**reader, path, *pipeline);
  if (!summary) return tl::unexpected(summary.error());
  if (summary->truncated) log_warning("{}", summary->truncation_note);
  pipeline->finish();
  return pipeline;
}

}  // namespace gputrace
