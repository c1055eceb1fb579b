// Report files (summary.md, report.html, trace.json) and the timeline behind them, from the
// report scenario with GC pauses and GPU activity: golden files for the text and Markdown
// reports and the Perfetto trace, the Chrome trace event format's structure, the HTML's
// self-containment, the timeline's bounds, and the directory writer.
// Regenerate the golden files after an intended change:
//   GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='ReportFiles*'
#include "golden.h"
#include "exporters/report/html_report.h"
#include "exporters/report/listing.h"
#include "exporters/report/markdown_report.h"
#include "exporters/report/perfetto_trace.h"
#include "exporters/report/report_files.h"
#include "report_scenario.h"
#include "userspace/timeline/timeline_recorder.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace gputrace {
namespace {

using json = nlohmann::json;
using test::expect_golden;
using test::kMs;
using test::MapOpts;
using test::TraceBuilder;

// The scenario through the pipeline, as the commands build it.
struct TracedRun {
  explicit TracedRun(const TraceBuilder& trace, TimelineLimits limits = {})
      : pipeline({.timeline_limits = limits}) {
    pipeline.set_input(test::scenario_input());
    trace.feed(pipeline);
    snapshot = pipeline.snapshot();
    model = json::parse(render_report_json(snapshot));
    timeline = *pipeline.timeline();
  }
  Pipeline pipeline;
  HostSnapshot snapshot;
  json model;  // the snapshot as report.json has it
  Timeline timeline;
};

const TracedRun& scenario_run() {
  static const TracedRun run(test::scenario(true));
  return run;
}

TEST(ReportFiles, TextWithGcMatchesGolden) {
  expect_golden(render_report_file(ReportFormat::Text, scenario_run().snapshot, scenario_run().timeline),
                "report_scenario_views.txt");
}

TEST(ReportFiles, MarkdownMatchesGolden) {
  expect_golden(render_markdown_report(scenario_run().snapshot), "report_scenario.md");
}

TEST(ReportFiles, PerfettoTraceMatchesGolden) {
  expect_golden(render_perfetto_trace(scenario_run().timeline, scenario_run().snapshot),
                "report_scenario.trace.json");
}

TEST(ReportFiles, NarrativeSaysWhatHappenedWorstFirst) {
  const auto lines = report_narrative(scenario_run().snapshot);
  ASSERT_GE(lines.size(), 5u);
  EXPECT_EQ(lines[1], "5 findings: 3 critical, 2 warning, 0 info.");
  // Kinds in the order of the worst finding of each (the model lists findings worst first).
  EXPECT_EQ(lines[2].rfind("1 DMA mapping was still mapped when the driver unbound (dma_leak_unbind) on 0000:00:04.0", 0), 0u)
      << lines[2];
  bool gc_line = false;
  for (const auto& l : lines) gc_line |= l.rfind("pid 4242 (cpython) stood still for GC", 0) == 0;
  EXPECT_TRUE(gc_line);
  EXPECT_EQ(lines.back(), "Some data was lost: missed:dma_map_page_attrs 2; counts above may be low.");
}

// The Chrome trace event format as ui.perfetto.dev and chrome://tracing read it: an object
// with traceEvents; every event has ph, name, pid; X has ts and dur >= 0 and nests with the
// other X events of its thread; i has ts and a scope; C has numeric args; M names processes
// and threads. Every pid and thread that carries events is named.
void check_chrome_trace(const json& trace) {
  ASSERT_TRUE(trace.is_object());
  ASSERT_TRUE(trace.contains("traceEvents") && trace["traceEvents"].is_array());
  EXPECT_EQ(trace.value("displayTimeUnit", ""), "ns");
  std::set<int64_t> named_pids;
  std::set<std::pair<int64_t, int64_t>> named_threads;
  std::map<std::pair<int64_t, int64_t>, std::vector<std::pair<double, double>>> slices;
  std::set<int64_t> used_pids;
  std::set<std::pair<int64_t, int64_t>> used_threads;
  for (const auto& e : trace["traceEvents"]) {
    ASSERT_TRUE(e.is_object());
    ASSERT_TRUE(e.contains("ph") && e["ph"].is_string()) << e;
    ASSERT_TRUE(e.contains("name") && e["name"].is_string()) << e;
    ASSERT_TRUE(e.contains("pid") && e["pid"].is_number_integer()) << e;
    const std::string ph = e["ph"];
    const int64_t pid = e["pid"];
    if (ph == "M") {
      ASSERT_TRUE(e.contains("args") && e["args"].is_object()) << e;
      const std::string what = e["name"];
      if (what == "process_name") named_pids.insert(pid);
      if (what == "thread_name") named_threads.insert({pid, e["tid"].get<int64_t>()});
      EXPECT_TRUE(what == "process_name" || what == "thread_name" || what == "process_sort_index" ||
                  what == "thread_sort_index")
          << e;
      continue;
    }
    ASSERT_TRUE(e.contains("ts") && e["ts"].is_number()) << e;
    used_pids.insert(pid);
    if (ph == "X") {
      ASSERT_TRUE(e.contains("dur") && e["dur"].is_number() && e["dur"].get<double>() >= 0) << e;
      ASSERT_TRUE(e.contains("tid") && e["tid"].is_number_integer()) << e;
      used_threads.insert({pid, e["tid"].get<int64_t>()});
      slices[{pid, e["tid"].get<int64_t>()}].push_back({e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()});
    } else if (ph == "i") {
      ASSERT_TRUE(e.contains("s")) << e;
      const std::string scope = e["s"];
      EXPECT_TRUE(scope == "t" || scope == "p" || scope == "g") << e;
      if (scope == "t") used_threads.insert({pid, e["tid"].get<int64_t>()});
    } else if (ph == "C") {
      ASSERT_TRUE(e.contains("args") && e["args"].is_object() && !e["args"].empty()) << e;
      for (const auto& [k, v] : e["args"].items()) EXPECT_TRUE(v.is_number()) << e;
    } else {
      ADD_FAILURE() << "unexpected phase " << ph << " in " << e;
    }
  }
  for (int64_t pid : used_pids) EXPECT_TRUE(named_pids.count(pid)) << "pid " << pid << " has no process_name";
  for (const auto& t : used_threads)
    EXPECT_TRUE(named_threads.count(t)) << "thread " << t.first << "/" << t.second << " has no thread_name";
  for (auto& [thread, list] : slices) {
    std::sort(list.begin(), list.end());
    std::vector<double> open_ends;
    for (const auto& [b, e] : list) {
      while (!open_ends.empty() && open_ends.back() <= b) open_ends.pop_back();
      if (!open_ends.empty()) {
        EXPECT_LE(e, open_ends.back()) << "slices overlap without nesting on thread " << thread.second;
      }
      open_ends.push_back(e);
    }
  }
}

TEST(ReportFiles, PerfettoTraceIsAChromeTraceWithTracksPerProcessGpuAndDevice) {
  const json trace = json::parse(render_perfetto_trace(scenario_run().timeline, scenario_run().snapshot));
  check_chrome_trace(trace);
  std::map<std::string, int64_t> process_names;
  std::multiset<std::string> kinds;
  for (const auto& e : trace["traceEvents"]) {
    if (e["ph"] == "M" && e["name"] == "process_name") process_names[e["args"]["name"]] = e["pid"];
    kinds.insert(e["ph"].get<std::string>() + ":" + e["name"].get<std::string>());
  }
  EXPECT_EQ(process_names.at("python3 [4242]"), 4242);
  EXPECT_EQ(process_names.at("GPU 0"), kTraceGpuPidBase);
  EXPECT_TRUE(process_names.count("0000:41:00.0 nvidia"));
  EXPECT_TRUE(process_names.count("0000:00:04.0 gputrace_edu"));
  EXPECT_EQ(kinds.count("X:gc gen0") + kinds.count("X:gc gen1") + kinds.count("X:gc gen2"), 3u);
  EXPECT_EQ(kinds.count("X:ampere_sgemm_128x64_tn"), 1u);
  EXPECT_EQ(kinds.count("X:memcpy HtoD"), 1u);
  EXPECT_GE(kinds.count("C:outstanding mappings"), 3u);
  EXPECT_EQ(kinds.count("X:dma_leak_owner_exit"), 2u);  // findings covering a time range
  EXPECT_EQ(trace["otherData"]["dropped_events"], 0);
  // Microseconds, exact: the 300 us pause that began at 4 ms.
  bool found = false;
  for (const auto& e : trace["traceEvents"])
    if (e["name"] == "gc gen0") {
      EXPECT_DOUBLE_EQ(e["ts"].get<double>(), 4000.0);
      EXPECT_DOUBLE_EQ(e["dur"].get<double>(), 300.0);
      EXPECT_EQ(e["args"]["collected"], 120);
      found = true;
    }
  EXPECT_TRUE(found);
}

TEST(ReportFiles, HtmlIsSelfContainedWithEverySection) {
  const std::string html = render_html_report(scenario_run().snapshot, scenario_run().timeline);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  for (const char* id : {"summary", "timeline", "charts", "chart-outstanding", "chart-gc", "findings", "devices",
                         "processes", "gc", "losses", "timeline-svg", "finding-1", "finding-5"})
    EXPECT_NE(html.find(fmt::format("id=\"{}\"", id)), std::string::npos) << id;
  EXPECT_EQ(html.find("finding-6"), std::string::npos);
  // Nothing fetched from anywhere, no script to go wrong.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);
  auto count = [&](const std::string& s) {
    size_t n = 0;
    for (size_t at = html.find(s); at != std::string::npos; at = html.find(s, at + 1)) ++n;
    return n;
  };
  EXPECT_EQ(count("<svg"), 3u);
  EXPECT_EQ(count("</svg>"), 3u);
  EXPECT_EQ(count("<section"), count("</section>"));
  EXPECT_EQ(count("<article"), count("</article>"));
  EXPECT_EQ(count("<table"), count("</table>"));
  EXPECT_NE(html.find("ampere_sgemm_128x64_tn"), std::string::npos);  // a kernel's tooltip
  EXPECT_NE(html.find("uvm_map_buffer+0x11"), std::string::npos);     // a leak's stack
}

// The edu device's findings overlap in time (a leak range over the double unmap and the
// fault burst): the range gets a row of its own on the timeline instead of covering the
// others; those two are apart on screen (at 152 and 200 ms of 3 s) and share one.
TEST(ReportFiles, HtmlTimelineStacksOverlappingFindings) {
  const std::string html = render_html_report(scenario_run().snapshot, scenario_run().timeline);
  const size_t track = html.find("data-track=\"0000:00:04.0 gputrace_edu / findings\"");
  ASSERT_NE(track, std::string::npos);
  const std::string group = html.substr(track, html.find("</g>", track) - track);
  std::set<std::string> marker_rows;
  for (size_t at = group.find("d=\"M"); at != std::string::npos; at = group.find("d=\"M", at + 1)) {
    const size_t comma = group.find(',', at), end = group.find('l', comma);
    marker_rows.insert(group.substr(comma + 1, end - comma - 1));
  }
  EXPECT_EQ(marker_rows.size(), 2u) << group;
}

TEST(ReportFiles, HtmlEscapesWhatProcessesAndDevicesName) {
  TraceBuilder t;
  t.proc_info(1, 77, 5, "<img src=x>", "/tmp/a&b");
  t.map(10 * kMs, 0xffff1, 0x1000, 4096, MapOpts{.pid = 77, .comm = "<img src=x>"});
  TracedRun run(t);
  const std::string html = render_html_report(run.snapshot, run.timeline);
  EXPECT_EQ(html.find("<img"), std::string::npos);
  EXPECT_NE(html.find("&lt;img src=x&gt;"), std::string::npos);
}

// A name cut at 15 bytes can end in half a UTF-8 character: every file must still be
// written, as valid JSON where it is JSON (the bad bytes become U+FFFD).
TEST(ReportFiles, NameThatIsNotUtf8StillWritesEveryFile) {
  TraceBuilder t;
  t.proc_info(1, 77, 5, "py\xe6\x97");
  t.gc_pause(77, 5 * kMs, 100'000);
  t.map(10 * kMs, 0xffff1, 0x1000, 4096, MapOpts{.pid = 77, .comm = "py\xe6\x97"});
  t.exit(20 * kMs, 77, 5, "py\xe6\x97");
  t.loss(3 * test::kSec, "ring_full_bulk", 0);
  TracedRun run(t);
  ASSERT_GE(run.model["findings"].size(), 1u);  // the leak names the process
  const auto dir = std::filesystem::temp_directory_path() / ("gputrace-report-utf8-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto written = write_report_files(dir.string(), run.snapshot, run.timeline);
  ASSERT_TRUE(written) << written.error().describe();
  EXPECT_EQ(written->size(), 4u);
  auto read = [&](const char* name) {
    std::ifstream in(dir / name);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const json report = json::parse(read("report.json"));
  EXPECT_EQ(report["findings"][0]["comm"], "py\xef\xbf\xbd");
  check_chrome_trace(json::parse(read("trace.json")));
  EXPECT_NO_THROW(render_report_json(run.snapshot));
  std::filesystem::remove_all(dir);
}

// A process can name itself "\x1b[2J": the text report goes to a terminal and summary.md to
// one (cat, less -R), so no control character from the trace may reach either.
TEST(ReportFiles, TextAndMarkdownCarryNoTerminalEscapeFromTheTrace) {
  const char* evil = "\x1b[2J\x9b" "1m\nx";
  TraceBuilder t;
  t.device(1, 0xffff1, "0000:05:00.0", "drv\x1b]0;t\x07");
  t.proc_info(2, 77, 5, evil);
  t.map(10 * kMs, 0xffff1, 0x1000, 4096, MapOpts{.pid = 77, .comm = evil});
  t.exit(20 * kMs, 77, 5, evil);
  t.loss(3 * test::kSec, "ring_full_bulk", 0);
  TracedRun run(t);
  ASSERT_GE(run.model["findings"].size(), 1u);
  ASSERT_NE(run.model["findings"][0]["message"].get<std::string>().find('\x1b'), std::string::npos);
  for (const std::string& text : {render_report_file(ReportFormat::Text, run.snapshot, run.timeline),
                                  render_markdown_report(run.snapshot)}) {
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      EXPECT_TRUE(u == '\n' || (u >= 0x20 && u != 0x7f)) << "control byte " << int(u) << " in\n" << text;
    }
    EXPECT_EQ(text.find("\xc2\x9b"), std::string::npos);  // C1 CSI, as UTF-8
    EXPECT_NE(text.find("?[2J"), std::string::npos);
  }
}

// The text report names whom each finding is about, not only what happened.
TEST(ReportFiles, TextReportNamesTheProcessAndDeviceOfEachFinding) {
  const std::string text = render_report_file(ReportFormat::Text, scenario_run().snapshot, scenario_run().timeline);
  EXPECT_NE(text.find("      process: python3[4242]  device: 0000:41:00.0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("      device: 0000:00:04.0\n      time: +0.200 s .. +0.202 s (200000000 .. 202000000 ns)"),
            std::string::npos)
      << text;
}

// Late records were processed: the views must not call them lost.
TEST(ReportFiles, LateRecordsAreNotCalledLost) {
  HostSnapshot model = scenario_run().snapshot;
  for (auto& l : model.losses) {
    if (l.name == "late_records") l.count = 33;
    if (l.name == "missed:dma_map_page_attrs") l.count = 0;
  }
  const auto lines = report_narrative(model);
  EXPECT_NE(std::find(lines.begin(), lines.end(), "Nothing was lost (every loss counter is zero)."), lines.end());
  bool late_line = false;
  for (const auto& l : lines) late_line |= l.find("arrived after the reorder window and were still processed (late_records 33)") != std::string::npos;
  EXPECT_TRUE(late_line);
  const std::string html = render_html_report(model, scenario_run().timeline);
  EXPECT_NE(html.find("<div class=\"value\">0</div><div class=\"label\">events lost</div>"), std::string::npos);
  EXPECT_NE(html.find("<div class=\"value\">33</div><div class=\"label\">late, still processed</div>"), std::string::npos);
  const std::string text = render_text_report(model);
  EXPECT_NE(text.find("LOSSES: none ("), std::string::npos) << text;
  EXPECT_NE(text.find("late, still processed"), std::string::npos) << text;
}

// A daemon that ran for weeks: summary.md and report.html list the worst findings and say
// how many more there are; report.json keeps all of them.
TEST(ReportFiles, LongFindingListsAreCutWithANote) {
  TraceBuilder t;
  t.device(1, 0xffff1, "0000:05:00.0", "drv");
  for (uint64_t i = 0; i < kListedFindings + 7; ++i) {
    const uint64_t ts = 10 * kMs + i * kMs, addr = 0x10000 + i * 0x1000;
    t.map(ts, 0xffff1, addr, 4096).unmap(ts + 1, 0xffff1, addr, 4096).unmap(ts + 2, 0xffff1, addr, 4096);
  }
  TracedRun run(t);
  ASSERT_EQ(run.model["findings"].size(), kListedFindings + 7);
  const std::string md = render_markdown_report(run.snapshot);
  size_t headings = 0;
  for (size_t at = md.find("\n### "); at != std::string::npos; at = md.find("\n### ", at + 1)) ++headings;
  EXPECT_EQ(headings, kListedFindings);
  EXPECT_NE(md.find("7 more findings not shown here: report.json lists every one."), std::string::npos);
  const std::string html = render_html_report(run.snapshot, run.timeline);
  EXPECT_NE(html.find(fmt::format("id=\"finding-{}\"", kListedFindings)), std::string::npos);
  EXPECT_EQ(html.find(fmt::format("id=\"finding-{}\"", kListedFindings + 1)), std::string::npos);
  EXPECT_NE(html.find("7 more findings not shown here"), std::string::npos);
}

// top records the timeline all the time: all tracks together stay within max_items, each
// track keeping its newest share, and what was dropped is counted.
TEST(ReportFiles, TimelineKeepsATotalBudgetAcrossTracks) {
  TraceBuilder t;
  for (uint32_t pid : {101u, 102u, 103u}) t.proc_info(1, pid, 1, "python3");
  for (uint64_t i = 0; i < 100; ++i)
    for (uint32_t pid : {101u, 102u, 103u}) t.gc_pause(pid, 10 * kMs + i * kMs, 100'000);
  TracedRun run(t, TimelineLimits{.max_per_track = 100, .max_items = 120});
  const Timeline& tl = run.timeline;
  ASSERT_EQ(tl.tracks.size(), 3u);
  EXPECT_EQ(tl.slices.size(), 120u);
  std::map<uint32_t, uint64_t> newest;
  for (const auto& s : tl.slices) newest[s.track] = std::max(newest[s.track], s.start_ns);
  for (const auto& [track, ns] : newest) EXPECT_EQ(ns, 10 * kMs + 99 * kMs) << track;  // each kept its newest
  EXPECT_EQ(tl.dropped_total(), 300u - 120u);
  static_assert(sizeof(TimelineSlice) <= 56, "slices are kept by the hundred thousand");
}

TEST(ReportFiles, TimelineKeepsABoundedNumberPerTrackAndSaysSo) {
  TraceBuilder t;
  t.proc_info(1, 4242, 600, "python3");
  for (uint64_t i = 0; i < 50; ++i) t.gc_pause(4242, 10 * kMs + i * kMs, 100'000);
  TracedRun run(t, TimelineLimits{.max_per_track = 8});
  const Timeline& tl = run.timeline;
  ASSERT_EQ(tl.slices.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(tl.slices[i].start_ns, 10 * kMs + (42 + i) * kMs);  // the newest, in order
  EXPECT_EQ(tl.dropped_total(), 42u);
  const json trace = json::parse(render_perfetto_trace(tl, run.snapshot));
  check_chrome_trace(trace);
  EXPECT_EQ(trace["otherData"]["dropped_events"], 42);
  EXPECT_EQ(trace["otherData"]["dropped_by_track"]["python3 [4242] / GC pauses"], 42);
  bool said = false;
  for (const auto& e : trace["traceEvents"])
    said |= e["name"].get<std::string>().find("timeline incomplete: 42 older events not kept") != std::string::npos;
  EXPECT_TRUE(said);
  EXPECT_NE(render_html_report(run.snapshot, tl).find("42 older ones were left out of the timeline"), std::string::npos);
}

// The profiler's own cost (CUPTI OVERHEAD records) on its process's track, and whole graph
// launches on their device's stream track.
TEST(ReportFiles, TimelineShowsTracingOverheadAndGraphLaunches) {
  TraceBuilder t;
  t.proc_info(1, 4242, 600, "server");
  gt_gpu_overhead_event o{};
  o.end_ns = 12 * kMs;
  o.overhead_kind = 1u << 16;  // a buffer flush
  o.object_kind = 2;
  o.hdr.tid = 4250;
  t.add(o, GT_EV_GPU_OVERHEAD, 10 * kMs, 4242);
  gt_gpu_graph_event g{};
  g.end_ns = 15 * kMs;
  g.graph_id = 9;
  g.stream_id = 7;
  t.add(g, GT_EV_GPU_GRAPH, 11 * kMs, 4242);
  TracedRun run(t, TimelineLimits{});
  const Timeline& tl = run.timeline;
  std::map<std::string, std::string> track_of;  // slice name -> track name
  for (const auto& s : tl.slices) track_of[tl.names[s.name]] = tl.tracks[s.track].name;
  EXPECT_EQ(track_of["CUPTI buffer flush"], "GPU tracing overhead");
  EXPECT_EQ(track_of["graph #9"], "stream 7");
}

// Outstanding mappings are sampled at most twice per period: a burst within a period
// writes its first value at once and its last with the time that value was reached.
TEST(ReportFiles, OutstandingCounterKeepsTheLastValueOfABurstWithItsTime) {
  constexpr uint64_t kDev = 0xffff2;
  TraceBuilder t;
  t.device(1, kDev, "0000:05:00.0", "gpu_drv");
  for (uint64_t i = 0; i < 10; ++i) t.map(10 * kMs + i * 100'000, kDev, 0x1000 * (i + 1), 4096);  // within 1 ms
  t.unmap(500 * kMs, kDev, 0x1000, 4096);
  TracedRun run(t, TimelineLimits{.counter_period_ns = 5 * kMs});
  std::vector<std::pair<uint64_t, double>> mappings;
  const Timeline& tl = run.timeline;
  for (const auto& c : tl.counters)
    if (tl.tracks[c.track].unit == "mappings") mappings.push_back({c.ts_ns, c.value});
  const std::vector<std::pair<uint64_t, double>> expected = {
      {10 * kMs, 1}, {10 * kMs + 900'000, 10}, {500 * kMs, 9}};
  EXPECT_EQ(mappings, expected);
}

TEST(ReportFiles, WritesEveryFileIntoTheDirectoryAndReplacesThem) {
  const auto dir = std::filesystem::temp_directory_path() / ("gputrace-report-files-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  const TracedRun& run = scenario_run();
  auto written = write_report_files(dir.string(), run.snapshot, run.timeline);
  ASSERT_TRUE(written) << written.error().describe();
  ASSERT_EQ(written->size(), 4u);
  for (const char* name : {"summary.md", "report.html", "trace.json", "report.json"}) {
    const auto path = dir / name;
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u) << path;
  }
  { std::ofstream(dir / "summary.md") << "stale"; }
  ASSERT_TRUE(write_report_files(dir.string(), run.snapshot, run.timeline));
  std::ifstream in(dir / "summary.md");
  std::string first_line;
  std::getline(in, first_line);
  EXPECT_EQ(first_line, "# gputrace report: infer-07");
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) entries += e.is_regular_file();
  EXPECT_EQ(entries, 4u);  // no temporary file left behind
  std::filesystem::remove_all(dir);
}

TEST(ReportFiles, ReportDirectoryThatIsAFileIsAClearError) {
  const auto path = std::filesystem::temp_directory_path() / ("gputrace-not-a-dir-" + std::to_string(::getpid()));
  { std::ofstream(path) << "x"; }
  const TracedRun& run = scenario_run();
  auto written = write_report_files(path.string(), run.snapshot, run.timeline);
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().describe().find("is not a directory"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(ReportFiles, FormatsParse) {
  EXPECT_EQ(parse_report_format("markdown"), ReportFormat::Markdown);
  EXPECT_EQ(parse_report_format("md"), ReportFormat::Markdown);
  EXPECT_EQ(parse_report_format("html"), ReportFormat::Html);
  EXPECT_EQ(parse_report_format("perfetto"), ReportFormat::Perfetto);
  EXPECT_FALSE(parse_report_format("pdf"));
}

}  // namespace
}  // namespace gputrace
