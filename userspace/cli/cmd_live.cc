// `gputrace live` (and `gputrace` with no command when output is not a terminal): traces
// this host and refreshes a plain-text summary every 2 s: devices, DMA totals, outstanding
// mappings, findings, losses. With --report-dir, report files on SIGUSR1 and at exit.
#include "userspace/capture/host_info.h"
#include "userspace/cli/analysis_options.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/report_requests.h"
#include "userspace/cli/tracing_options.h"
#include "userspace/host/synthesized.h"
#include "userspace/pipeline/pipeline.h"
#include "exporters/report/report.h"
#include "userspace/session/live_source.h"
#include "userspace/util/log.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

namespace gputrace {
namespace {

constexpr const char* kHelp = R"(usage: gputrace [live] [--duration D] [--interval D] [options]

Traces this host and prints a summary every interval (default 2s) until Ctrl-C:
devices and their DMA-API totals, outstanding mappings, findings, loss counters.

options:
  --duration D           stop after D
  --interval D           refresh interval (default 2s)
  --report-dir DIR       write report files (summary.md, report.html, trace.json,
                         report.json) into DIR on SIGUSR1 and at exit
)";

}  // namespace

int cmd_live(const Args& args) {
  Options o;
  o.value("duration").value("interval").value("report-dir").flag("help", 'h');
  declare_tracing_options(o);
  declare_analysis_options(o);
  if (auto r = o.parse(args); !r) {
    log_error("{}", r.error().describe());
    return 2;
  }
  if (o.has("help")) {
    std::printf("%s%s%s", kHelp, kTracingOptionsHelp, kAnalysisOptionsHelp);
    return 0;
  }
  auto config = tracing_config(o);
  auto gc = gc_options(o);
  if (!gc) {
    log_error("{}", gc.error().describe());
    return 2;
  }
  auto interval = parse_duration(o.get("interval").value_or("2s"));
  auto duration = parse_duration(o.get("duration").value_or("0"));
  if (!config || !interval || !duration) {
    log_error("{}", !config ? config.error().describe() : !interval ? interval.error().describe()
                                                                     : duration.error().describe());
    return 2;
  }
  if (geteuid() != 0) {
    log_error("gputrace loads BPF programs: run it as root (sudo gputrace)");
    return 1;
  }
  EngineConfig engine_config;
  if (auto r = apply_analysis_options(o, engine_config); !r) {
    log_error("{}", r.error().describe());
    return 2;
  }
  Pipeline pipeline({.engine = engine_config});
  pipeline.set_input({.host = current_host_info()});
  const auto report_dir = o.get("report-dir");
  auto write_reports = [&] {
    if (!report_dir) return;
    auto written = write_report_dir(*report_dir, pipeline);
    if (!written) {
      log_error("{}", written.error().describe());
      return;
    }
    for (const auto& path : *written) std::fprintf(stderr, "gputrace: wrote %s\n", path.c_str());
  };
  auto render = [&] { return render_text_report(pipeline.snapshot()); };
  install_stop_handlers();
  install_report_request_handler();
  Features features = Features::probe();
  auto source = LiveSource::start(features, *config, *gc, [&](const Record& r) { pipeline.push(r); });
  if (!source) {
    log_error("{}", source.error().describe());
    return 1;
  }
  const bool tty = isatty(STDOUT_FILENO);
  const auto start = std::chrono::steady_clock::now();
  auto next = start;
  while (!stop_requested()) {
    auto now = std::chrono::steady_clock::now();
    if (duration->count() > 0 && now - start >= *duration) break;
    if (auto r = (*source)->pump(std::chrono::milliseconds(10)); !r) {
      log_error("{}", r.error().describe());
      return 1;
    }
    if (take_report_request()) write_reports();
    if (now < next) continue;
    next = now + *interval;
    pipeline.advance_to(monotonic_ns());
    std::string text = render();
    if (tty) std::fputs("\033[H\033[2J", stdout);  // home + clear: one redraw per interval
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
  }
  (void)(*source)->stop();
  pipeline.finish();
  std::string text = render();
  std::fwrite(text.data(), 1, text.size(), stdout);
  write_reports();
  return 0;
}

}  // namespace gputrace
