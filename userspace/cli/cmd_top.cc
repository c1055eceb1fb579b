// `gputrace top` (and `gputrace` with no command, on a terminal): the view an on-call
// engineer keeps open. Traces this host (root) or replays a capture (--replay, no root),
// takes a HostSnapshot every interval and shows it with the ncurses screen, or prints
// plain-text snapshots with --batch. With --report-dir it writes the report files on
// SIGUSR1, on the `w` key and at exit.
#include "userspace/capture/capture.h"
#include "userspace/capture/host_info.h"
#include "userspace/cli/analysis_options.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/pid_attach.h"
#include "userspace/cli/report_requests.h"
#include "userspace/cli/tracing_options.h"
#include "userspace/host/container_id.h"
#include "userspace/pipeline/pipeline.h"
#include "userspace/pipeline/replay.h"
#include "userspace/session/live_source.h"
#include "views/top/top_layout.h"
#include "views/top/top_model.h"
#include "views/top/top_screen.h"
#include "userspace/util/clock.h"
#include "userspace/util/log.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <thread>

namespace gputrace {
namespace {

using namespace std::chrono_literals;

// Findings a snapshot carries (the newest); top keeps three snapshots and shows at most 20.
constexpr size_t kFindingsKept = 500;

constexpr const char* kHelp = R"(usage: gputrace top [--batch] [--interval D] [--iterations N] [--duration D]
                    [--replay CAPTURE [--speed X]] [--report-dir DIR] [tracing options]

The live view of this host: devices (PCIe link, IOMMU mode), event rates and losses, one
row per traced process (GC pause share and p99, DMA maps/s, outstanding mappings, leaks,
IOMMU faults, GPU copy bandwidth, stalls) and the newest findings. Keys: ? shows them all.

options:
  -b, --batch            print plain-text snapshots instead of the screen (like top -b)
  -d, --interval D       time between snapshots (default 2s)
  -n, --iterations N     stop after N snapshots
  --duration D           stop after D
  --width N              --batch line width (default 160)
  --replay CAPTURE       show a capture written by `gputrace record` instead of this host
                         (no root needed): its end state, or played through with --speed
  --speed X              replay X seconds of the capture per second (--batch: no waiting)
  --report-dir DIR       write report files (summary.md, report.html, trace.json,
                         report.json) into DIR on SIGUSR1, on the `w` key and at exit
  --no-attach            with --pid: GC pauses only; by default top also starts GPU
                         tracing in each --pid process with the CUDA driver loaded, as
                         `gputrace attach` does, until it quits (docs/cupti.md)
)";

struct TopOptions {
  bool batch = false;
  std::chrono::nanoseconds interval = 2s;
  uint64_t iterations = 0;  // 0: no limit
  std::chrono::nanoseconds duration{0};
  int width = 160;
  std::optional<std::string> replay;
  double speed = 0;  // replay: 0 shows the end state
  std::optional<std::string> report_dir;
  EngineConfig engine;  // --threshold
};

// The analysis side of a run: engine, GC pauses and timeline, fed by a live source or a
// capture; takes snapshots and writes report files.
// The pipeline top shows, the identities it keeps across snapshots, and its report files.
struct Analysis {
  explicit Analysis(EngineConfig config) : pipeline({.engine = config}) {}
  HostSnapshot snapshot(bool live) {
    SnapshotRequest request{.max_findings = kFindingsKept, .identities = &identities};
    // docker ps and crictl ps show the first 12 digits of the id
    if (live) request.container_of = [](uint32_t pid) { return container_id_of(pid).substr(0, 12); };
    return pipeline.snapshot(request);
  }
  // Writes the report files if a directory was given; says where in the status line.
  void write_reports(const TopOptions& o, top::TopModel& model, bool to_stderr) {
    if (!o.report_dir) {
      model.set_status("no --report-dir: report files not written");
      return;
    }
    auto written = write_report_dir(*o.report_dir, pipeline);
    if (!written) {
      model.set_status(written.error().describe());
      if (to_stderr) log_error("{}", written.error().describe());
      return;
    }
    model.set_status(fmt::format("report files written to {}", *o.report_dir));
    if (to_stderr)
      for (const auto& path : *written) std::fprintf(stderr, "gputrace: wrote %s\n", path.c_str());
  }

  Pipeline pipeline;
  ProcessIdentities identities;  // container ids of processes after they exit
};

// Either the ncurses screen or --batch printing; the loops below do not care which.
class Display {
 public:
  static Result<Display> open(const TopOptions& o) {
    Display d;
    d.batch_ = o.batch;
    d.width_ = o.width;
    if (!o.batch) {
      auto screen = top::TopScreen::open();
      if (!screen) return tl::unexpected(screen.error());
      d.screen_ = std::move(*screen);
    }
    return d;
  }
  void show(top::TopModel& model) {
    if (screen_) {
      screen_->draw(model);
      return;
    }
    const std::string text =
        top::layout_frame(model, top::LayoutOptions{.width = width_, .height = 0, .batch = true}).text();
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  // Answers keys until `wait` has passed (a key does not end the wait: a --speed replay
  // would run ahead while someone types); returns false when the user quit.
  bool wait(top::TopModel& model, std::chrono::milliseconds wait, Analysis& analysis, const TopOptions& o) {
    if (!screen_) {
      if (wait.count() > 0) std::this_thread::sleep_for(wait);
      return true;
    }
    const auto deadline = std::chrono::steady_clock::now() + wait;
    do {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      auto key = screen_->read_key(static_cast<int>(std::max<int64_t>(0, left.count())));
      if (!key) continue;
      if (key->kind == top::KeyKind::Char && key->ch == 'w' && !model.editing_filter() && !model.help_open()) {
        analysis.write_reports(o, model, false);
        screen_->draw(model);
        continue;
      }
      const top::KeyResult r = model.handle(*key);
      if (r == top::KeyResult::Quit) return false;
      if (r == top::KeyResult::Changed) screen_->draw(model);
    } while (std::chrono::steady_clock::now() < deadline && !stop_requested());
    return true;
  }
  bool interactive() const { return screen_ != nullptr; }
  void restore() {
    if (screen_) screen_->restore();
  }

 private:
  bool batch_ = false;
  int width_ = 160;
  std::unique_ptr<top::TopScreen> screen_;
};

Result<TopOptions> parse_top_options(const Options& o) {
  TopOptions t;
  t.batch = o.has("batch");
  if (auto v = o.get("interval")) {
    auto d = parse_duration(*v);
    if (!d) return tl::unexpected(d.error());
    if (d->count() < 100'000'000) return fail("--interval {} is too short: use at least 100ms", *v);
    t.interval = *d;
  }
  if (auto v = o.get("duration")) {
    auto d = parse_duration(*v);
    if (!d) return tl::unexpected(d.error());
    t.duration = *d;
  }
  if (auto v = o.get("iterations")) {
    char* end = nullptr;
    errno = 0;
    const long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end || errno == ERANGE || n <= 0) return fail("--iterations '{}' must be a positive number", *v);
    t.iterations = static_cast<uint64_t>(n);
  }
  if (auto v = o.get("width")) {
    char* end = nullptr;
    const long n = std::strtol(v->c_str(), &end, 10);
    if (*end || n < top::kMinWidth || n > 1000) return fail("--width '{}' must be {}..1000", *v, top::kMinWidth);
    t.width = static_cast<int>(n);
  }
  t.replay = o.get("replay");
  if (auto v = o.get("speed")) {
    if (!t.replay) return fail("--speed plays a capture: use it with --replay");
    char* end = nullptr;
    t.speed = std::strtod(v->c_str(), &end);
    // "inf" and "nan" parse as doubles; neither gives a step through the capture.
    if (v->empty() || *end || !std::isfinite(t.speed) || !(t.speed > 0))
      return fail("--speed '{}' must be a positive number (1 = real time)", *v);
  }
  if (t.replay && t.speed <= 0 && t.iterations)
    return fail("--iterations counts snapshots of a live run or of a replay played with --speed; without --speed "
                "a replay shows its end state once");
  t.report_dir = o.get("report-dir");
  if (auto r = apply_analysis_options(o, t.engine); !r) return tl::unexpected(r.error());
  return t;
}

// Until the user quits (or a stop signal, or --duration): keeps the screen answering keys
// and report requests while nothing new comes (a replay at its end).
int hold(Display& display, top::TopModel& model, Analysis& analysis, const TopOptions& o,
         std::chrono::steady_clock::time_point start) {
  while (display.interactive() && !stop_requested()) {
    if (o.duration.count() > 0 && std::chrono::steady_clock::now() - start >= o.duration) break;
    if (take_report_request()) {
      analysis.write_reports(o, model, false);
      display.show(model);
    }
    if (!display.wait(model, 200ms, analysis, o)) break;
  }
  return 0;
}

// Capture time one --speed step plays: at least 1 ns (a tiny speed must still move), at
// most what the clock can add without wrapping.
uint64_t replay_step_ns(const TopOptions& o) {
  const double step = static_cast<double>(o.interval.count()) * o.speed;
  return static_cast<uint64_t>(std::clamp(step, 1.0, 9.0e18));
}

// Plays held records through at --speed; false when it ended before the last record
// (q, --iterations, --duration or a stop signal).
bool play_through(const std::vector<Record>& records, const TopOptions& o, Display& display, top::TopModel& model,
                  Analysis& analysis, std::chrono::steady_clock::time_point start) {
  uint64_t cursor = records.empty() ? 0 : records.front().ts();
  const uint64_t step = replay_step_ns(o);
  size_t next = 0, shown = 0;
  while (next < records.size()) {
    if (stop_requested()) return false;
    if (o.duration.count() > 0 && std::chrono::steady_clock::now() - start >= o.duration) return false;
    cursor = cursor > UINT64_MAX - step ? UINT64_MAX : cursor + step;
    while (next < records.size() && records[next].ts() <= cursor) analysis.pipeline.push(records[next++]);
    analysis.pipeline.advance_to(cursor);
    model.update(analysis.snapshot(false));
    display.show(model);
    if (o.iterations && ++shown >= o.iterations) return false;
    const auto wait = display.interactive() ? std::chrono::duration_cast<std::chrono::milliseconds>(o.interval) : 0ms;
    if (!display.wait(model, wait, analysis, o)) return false;
    if (take_report_request()) {
      analysis.write_reports(o, model, false);
      display.show(model);
    }
  }
  return true;
}

// A capture cut short must not look complete: on stderr like `gputrace report` (the screen
// keeps stderr and prints it when the terminal is given back), and in every frame.
void note_truncation(const CaptureReadSummary& summary, top::TopModel& model) {
  if (!summary.truncated) return;
  log_warning("{}", summary.truncation_note);
  model.set_notice(summary.truncation_note);
}

int run_replay(const TopOptions& o, Display& display, top::TopModel& model) {
  auto reader = CaptureReader::open(*o.replay);
  if (!reader) {
    display.restore();
    log_error("{}", reader.error().describe());
    return 1;
  }
  Analysis analysis(o.engine);
  const auto start = std::chrono::steady_clock::now();
  model.set_source(fmt::format("replay of {}", *o.replay));
  Result<CaptureReadSummary> summary;
  bool played_to_the_end = true;
  if (o.speed <= 0) {
    summary = feed_capture(**reader, *o.replay, analysis.pipeline);
  } else {
    // Playing through needs the records after the reader's call returns: keep copies.
    std::vector<std::vector<std::byte>> held;
    summary = (*reader)->for_each([&](const Record& r) { held.emplace_back(r.bytes.begin(), r.bytes.end()); });
    if (summary) {
      analysis.pipeline.set_input({.path = *o.replay, .host = (*reader)->host(), .truncated = summary->truncated,
                                   .truncation_note = summary->truncation_note});
      note_truncation(*summary, model);
      std::vector<Record> records;
      records.reserve(held.size());
      for (const auto& bytes : held) {
        Record r;
        std::memcpy(&r.header, bytes.data(), sizeof(r.header));
        r.bytes = std::span<const std::byte>(bytes.data(), bytes.size());
        records.push_back(r);
      }
      played_to_the_end = play_through(records, o, display, model, analysis, start);
    }
  }
  if (!summary) {
    display.restore();
    log_error("{}", summary.error().describe());
    return 1;
  }
  analysis.pipeline.finish();
  int rc = 0;
  // Ended early (q, -n, a signal): no end state to show, but the report files still come.
  if (played_to_the_end) {
    if (o.speed <= 0) note_truncation(*summary, model);
    model.set_source(fmt::format("replay of {} (end)", *o.replay));
    model.update(analysis.snapshot(false));
    display.show(model);
    rc = hold(display, model, analysis, o, start);
  }
  display.restore();
  if (o.report_dir) analysis.write_reports(o, model, true);
  return rc;
}

int run_live(const Options& opts, const TopOptions& o, Display& display, top::TopModel& model) {
  auto config = tracing_config(opts);
  auto gc = gc_options(opts);
  if (!config || !gc) {
    display.restore();
    log_error("{}", !config ? config.error().describe() : gc.error().describe());
    return 2;
  }
  Analysis analysis(o.engine);
  analysis.pipeline.set_input({.host = current_host_info()});
  Features features = Features::probe();
  auto source = LiveSource::start(features, *config, *gc, [&](const Record& r) { analysis.pipeline.push(r); });
  if (!source) {
    display.restore();
    log_error("{}", source.error().describe());
    return 1;
  }
  GpuAttachments attached;
  if (!opts.has("no-attach")) attached.attach(pids_option(opts), **source, kCuptiSocketPath, false, false);
  const auto start = std::chrono::steady_clock::now();
  auto next = start;
  uint64_t shown = 0;
  int rc = 0;
  while (!stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (o.duration.count() > 0 && now - start >= o.duration) break;
    if (auto r = (*source)->pump(10ms); !r) {
      display.restore();
      log_error("{}", r.error().describe());
      rc = 1;
      break;
    }
    if (take_report_request()) analysis.write_reports(o, model, false);
    if (now >= next) {
      next = now + o.interval;
      analysis.pipeline.advance_to(monotonic_ns());
      model.update(analysis.snapshot(true));
      display.show(model);
      if (o.iterations && ++shown >= o.iterations) break;
    }
    if (!display.wait(model, 0ms, analysis, o)) break;
  }
  attached.release(**source, std::chrono::milliseconds(2000));
  (void)(*source)->stop();
  analysis.pipeline.finish();
  display.restore();
  if (o.report_dir) analysis.write_reports(o, model, true);
  return rc;
}

}  // namespace

int cmd_top(const Args& args) {
  Options opts;
  opts.flag("batch", 'b').value("interval", 'd').value("iterations", 'n').value("duration").value("width");
  opts.value("replay").value("speed").value("report-dir").flag("no-attach").flag("help", 'h');
  declare_tracing_options(opts);
  declare_analysis_options(opts);
  if (auto r = opts.parse(args); !r) {
    log_error("{}", r.error().describe());
    return 2;
  }
  if (opts.has("help")) {
    std::printf("%s%s\n%s", kHelp, kTracingOptionsHelp, kAnalysisOptionsHelp);
    return 0;
  }
  // `gputrace top run.gtrace` would otherwise trace this host (as root) and ignore the file.
  if (!opts.positional().empty()) {
    const std::string& arg = opts.positional().front();
    log_error("unexpected argument '{}': top takes options only; did you mean --replay {}?", arg, arg);
    return 2;
  }
  auto o = parse_top_options(opts);
  if (!o) {
    log_error("{}", o.error().describe());
    return 2;
  }
  if (!o->replay && geteuid() != 0) {
    log_error("gputrace top traces this host with BPF: run it as root (sudo gputrace top), or show a capture with "
              "--replay FILE");
    return 1;
  }
  // Stop handlers before the screen opens, so ncurses leaves SIGINT/SIGTERM to us and the
  // loops end normally and restore the terminal. A closed ssh session (SIGHUP) stops too.
  install_stop_handlers();
  struct sigaction hup {};
  hup.sa_handler = [](int) { ::raise(SIGTERM); };
  sigemptyset(&hup.sa_mask);
  sigaction(SIGHUP, &hup, nullptr);
  install_report_request_handler();
  auto display = Display::open(*o);
  if (!display) {
    log_error("{}", display.error().describe());
    return 1;
  }
  top::TopModel model;
  try {
    return o->replay ? run_replay(*o, *display, model) : run_live(opts, *o, *display, model);
  } catch (const std::exception& e) {
    // A bug, not a condition: still give the terminal back before saying so.
    display->restore();
    log_bug("gputrace top stopped: {}", e.what());
    return 1;
  }
}

}  // namespace gputrace
