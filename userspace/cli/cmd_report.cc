// `gputrace report`: replays a capture through the same engine as a live run and writes
// the report: text or JSON, or the report files (Markdown summary, HTML page, Perfetto
// trace), one with --format or all of them with --out-dir.
#include "userspace/cli/analysis_options.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/options.h"
#include "exporters/report/format.h"
#include "userspace/pipeline/replay.h"
#include "exporters/report/report.h"
#include "exporters/report/report_files.h"
#include "userspace/util/log.h"
#include "userspace/util/safe_dir.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>

namespace gputrace {
namespace {

constexpr const char* kHelp = R"(usage: gputrace report FILE [--format F] [-o OUT] [--out-dir DIR] [--leak-grace D]

Analyses a capture written by `gputrace record`: DMA mapping leaks, unmatched unmaps,
mapping growth, IOMMU faults, GC pauses, per-device DMA totals and every loss counter.

options:
  --format F        text (default), json (schema: docs/report-schema.md), markdown,
                    html (self-contained page with timeline and charts) or perfetto
                    (Chrome trace JSON: open it in https://ui.perfetto.dev)
  -o, --output OUT  write the report to OUT (created 0600, never overwritten) instead of stdout
  --out-dir DIR     write every report file into DIR (summary.md, report.html, trace.json,
                    report.json; existing ones are replaced) and print their paths
  --leak-grace D    how long after its owner exits a mapping must still be outstanding to be
                    a leak (default 2s)
)";

Result<void> write_output(const std::string& path, const std::string& text) {
  auto created = create_new_file(path, 0600);  // never through another user's link
  if (!created) return fail("report file: {}", created.error().describe());
  const int fd = created->release();
  // A full disk must not leave half a report behind as if it were one: we created the file
  // a moment ago, exclusively, so removing it on failure removes nothing else.
  auto discard = [&](int err) {
    ::unlink(path.c_str());
    return fail_errno(err, "writing {} (removed: it would have been cut short)", path);
  };
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return discard(e);
    }
    done += static_cast<size_t>(n);
  }
  const int synced = ::fsync(fd) == 0 ? 0 : errno;  // ENOSPC may only show here (delayed allocation)
  if (::close(fd) != 0 && synced == 0) return discard(errno);
  if (synced != 0) return discard(synced);
  return {};
}

}  // namespace

int cmd_report(const Args& args) {
  Options o;
  o.value("format").value("output", 'o').value("out-dir").value("leak-grace").flag("help", 'h');
  declare_analysis_options(o);
  if (auto r = o.parse(args); !r) {
    log_error("{}", r.error().describe());
    return 2;
  }
  if (o.has("help")) {
    std::printf("%s\n%s", kHelp, kAnalysisOptionsHelp);
    return 0;
  }
  if (o.positional().size() != 1) {
    log_error("report needs exactly one capture file: gputrace report FILE");
    return 2;
  }
  auto format = parse_report_format(o.get("format").value_or("text"));
  if (!format) {
    log_error("--format must be text, json, markdown, html or perfetto");
    return 2;
  }
  EngineConfig config;
  if (auto r = apply_analysis_options(o, config); !r) {
    log_error("{}", r.error().describe());
    return 2;
  }
  if (auto g = o.get("leak-grace")) {
    auto d = parse_duration(*g);
    if (!d) {
      log_error("--leak-grace: {}", d.error().describe());
      return 2;
    }
    config.owner_exit_grace_ns = static_cast<uint64_t>(d->count());
  }
  if (o.has("out-dir") && (o.has("output") || o.has("format"))) {
    log_error("--out-dir writes every format: use it without --format and -o");
    return 2;
  }
  const std::string& path = o.positional()[0];
  auto pipeline = replay_capture(path, {.engine = config});
  if (!pipeline) {
    log_error("{}", pipeline.error().describe());
    return 1;
  }
  const HostSnapshot snapshot = (*pipeline)->snapshot();
  const Timeline& timeline = *(*pipeline)->timeline();
  if (auto dir = o.get("out-dir")) {
    auto written = write_report_files(*dir, snapshot, timeline);
    if (!written) {
      log_error("{}", written.error().describe());
      return 1;
    }
    for (const auto& file : *written) std::printf("%s\n", file.c_str());
    return 0;
  }
  const std::string text = render_report_file(*format, snapshot, timeline);
  if (auto out = o.get("output")) {
    if (auto w = write_output(*out, text); !w) {
      log_error("{}", w.error().describe());
      return 1;
    }
  } else {
    std::fwrite(text.data(), 1, text.size(), stdout);
  }
  return 0;
}

}  // namespace gputrace
