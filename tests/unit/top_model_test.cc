// `gputrace top` without a terminal: rates from two snapshots, sorting, filtering,
// selection, pause and keys (TopModel), and what a frame of a given size shows (layout):
// exact size, columns dropped on narrow terminals, panes, the batch text. Also the
// container-id parser the live view uses.
#include "userspace/gc/pause_stats.h"
#include "report_scenario.h"
#include "userspace/model/host_snapshot.h"
#include "views/top/top_layout.h"
#include "views/top/top_model.h"

#include <gtest/gtest.h>

namespace gputrace::top {
namespace {

using test::kMs;
using test::kSec;

ProcessRow process(uint32_t pid, const char* comm, uint64_t pause_ns = 0, uint64_t maps = 0) {
  ProcessRow r;
  r.pid = pid;
  r.comm = comm;
  r.gc_pauses = pause_ns ? 3 : 0;
  r.gc_pause_ns = pause_ns;
  r.gc_pause_p99_ns = pause_ns / 2;
  r.dma_maps = maps;
  return r;
}

HostSnapshot snapshot(uint64_t first, uint64_t taken, std::vector<ProcessRow> rows) {
  HostSnapshot s;
  s.first_ns = first;
  s.taken_ns = taken;
  s.source.hostname = "infer-07";
  s.source.kernel = "6.12.0";
  s.processes = std::move(rows);
  s.losses = {{"ring_full_bulk", 0, "bpf"}, {"decode_errors", 0, "input"}};
  return s;
}

std::vector<uint32_t> pids(const TopModel& m) {
  std::vector<uint32_t> out;
  for (const auto& r : m.rows()) out.push_back(r.pid);
  return out;
}

Key ch(int c) { return Key::chr(c); }

std::string screen_text_for(TopModel& m) { return layout_frame(m, LayoutOptions{.width = 160, .height = 45}).text(); }
Key key(KeyKind k) { return Key{k}; }

TEST(TopModel, RatesAreTheDifferenceOfTwoSnapshots) {
  HostSnapshot before = snapshot(0, 10 * kSec, {process(1, "server", 100 * kMs, 1000)});
  before.records.processed = 5000;
  before.records.by_source = {{"dma", 4000}};
  HostSnapshot now = snapshot(0, 12 * kSec, {process(1, "server", 300 * kMs, 1400)});
  now.records.processed = 9000;
  now.records.by_source = {{"dma", 7000}};
  now.processes[0].memcpys = 4;
  now.processes[0].memcpy_bytes = 8'000'000'000;
  now.processes[0].memcpy_ns = 500'000'000;  // 16 GB/s while copying
  const auto rows = process_views(now, &before);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_DOUBLE_EQ(rows[0].gc_share, 0.1);        // 200 ms of 2 s
  EXPECT_DOUBLE_EQ(rows[0].dma_maps_per_s, 200);  // 400 in 2 s
  EXPECT_TRUE(rows[0].memcpy_seen);
  EXPECT_DOUBLE_EQ(rows[0].memcpy_gbps, 16);
  const HostRates h = host_rates(now, &before);
  EXPECT_DOUBLE_EQ(h.interval_s, 2);
  EXPECT_DOUBLE_EQ(h.records_per_s, 2000);
  EXPECT_DOUBLE_EQ(h.per_source.at("dma"), 1500);
}

TEST(TopModel, WithoutAPreviousSnapshotRatesAreAveragesSinceTheFirstRecord) {
  HostSnapshot now = snapshot(2 * kSec, 6 * kSec, {process(1, "server", 400 * kMs, 800)});
  const auto rows = process_views(now, nullptr);
  EXPECT_DOUBLE_EQ(rows[0].gc_share, 0.1);
  EXPECT_DOUBLE_EQ(rows[0].dma_maps_per_s, 200);
  EXPECT_FALSE(rows[0].memcpy_seen);
  EXPECT_EQ(cell_text(rows[0], Column::Memcpy), "-");
}

// Late records were processed: the header shows them apart, not as (red) losses.
TEST(TopModel, LateRecordsAreNotLosses) {
  HostSnapshot now = snapshot(0, 2 * kSec, {});
  now.losses.push_back({"late_records", 33, "engine"});
  const HostRates h = host_rates(now, nullptr);
  EXPECT_EQ(h.losses_total, 0u);
  EXPECT_EQ(h.late_records, 33u);
  TopModel m;
  m.update(now);
  const std::string s = screen_text_for(m);
  EXPECT_NE(s.find("losses none (3 counters)  late 33 (processed)"), std::string::npos) << s;
}

// The end state of a --speed replay is taken at the time of the last step: the rates stay
// over the interval before it, not over nothing.
TEST(TopModel, ASnapshotAtTheSameTimeKeepsTheRateInterval) {
  TopModel m;
  m.update(snapshot(0, 10 * kSec, {process(1, "server", 100 * kMs, 1000)}));
  m.update(snapshot(0, 12 * kSec, {process(1, "server", 300 * kMs, 1400)}));
  m.update(snapshot(0, 12 * kSec, {process(1, "server", 300 * kMs, 1400)}));
  EXPECT_DOUBLE_EQ(m.rates().interval_s, 2);
  EXPECT_DOUBLE_EQ(m.rows()[0].dma_maps_per_s, 200);
}

TEST(TopModel, LossesCountWhatIsNew) {
  HostSnapshot before = snapshot(0, kSec, {});
  before.losses[0].count = 10;
  HostSnapshot now = snapshot(0, 2 * kSec, {});
  now.losses[0].count = 13;
  const HostRates h = host_rates(now, &before);
  EXPECT_EQ(h.losses_total, 13u);
  EXPECT_EQ(h.losses_new, 3u);
  ASSERT_EQ(h.nonzero_losses.size(), 1u);
  EXPECT_EQ(h.nonzero_losses[0].first, "ring_full_bulk");
}

TopModel three_processes() {
  TopModel m;
  auto a = process(30, "python3", 300 * kMs, 10);
  auto b = process(10, "java", 100 * kMs, 500);
  auto c = process(20, "nvidia-smi", 0, 50);
  c.dma_leaks = 2;
  c.findings = 2;
  m.update(snapshot(0, 10 * kSec, {b, c, a}));
  return m;
}

TEST(TopModel, SortsByFindingsFirstThenByAnyColumnAndReverses) {
  TopModel m = three_processes();
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{20, 10, 30}));  // findings desc, ties by pid
  EXPECT_EQ(m.handle(ch('G')), KeyResult::Changed);           // GC share, biggest first
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{30, 10, 20}));
  m.handle(ch('G'));  // again: reversed
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{20, 10, 30}));
  m.handle(ch('N'));  // names ascending
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{10, 20, 30}));
  m.handle(ch('r'));
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{30, 20, 10}));
  m.handle(ch('P'));
  EXPECT_EQ(m.sort_column(), Column::Pid);
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{10, 20, 30}));
  m.handle(ch('s'));  // next column after PID: COMMAND
  EXPECT_EQ(m.sort_column(), Column::Command);
  m.handle(ch('S'));
  m.handle(ch('<'));  // previous of PID wraps to the last column
  EXPECT_EQ(m.sort_column(), Column::Findings);
}

TEST(TopModel, FilterIsTypedAppliedAndCleared) {
  TopModel m = three_processes();
  m.handle(ch('/'));
  EXPECT_TRUE(m.editing_filter());
  for (char c : std::string("PYX")) m.handle(ch(c));
  m.handle(key(KeyKind::Backspace));
  EXPECT_EQ(m.filter_draft(), "PY");
  EXPECT_EQ(m.handle(ch('q')), KeyResult::Changed);  // typed, not quit
  m.handle(key(KeyKind::Backspace));
  m.handle(key(KeyKind::Enter));
  EXPECT_FALSE(m.editing_filter());
  EXPECT_EQ(m.filter(), "PY");
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{30}));  // case-insensitive on the command
  m.handle(ch('/'));
  m.handle(ch('x'));
  m.handle(key(KeyKind::Escape));  // cancels the edit, keeps the filter
  EXPECT_EQ(m.filter(), "PY");
  m.handle(key(KeyKind::Escape));  // clears it
  EXPECT_EQ(m.filter(), "");
  EXPECT_EQ(m.rows().size(), 3u);
  m.handle(ch('/'));
  for (char c : std::string("20")) m.handle(ch(c));
  m.handle(key(KeyKind::Enter));
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{20}));  // pids match too
}

TEST(TopModel, SelectionFollowsTheProcessAcrossSortsAndUpdates) {
  TopModel m = three_processes();
  ASSERT_NE(m.selected(), nullptr);
  EXPECT_EQ(m.selected()->pid, 20u);
  m.handle(key(KeyKind::Down));
  EXPECT_EQ(m.selected()->pid, 10u);
  m.handle(ch('N'));  // re-sorted: still java
  EXPECT_EQ(m.selected()->pid, 10u);
  EXPECT_EQ(m.selected_index(), 0u);
  m.handle(key(KeyKind::Up));  // stays at the top
  EXPECT_EQ(m.selected()->pid, 10u);
  m.handle(key(KeyKind::End));
  EXPECT_EQ(m.selected()->pid, 30u);
  m.handle(key(KeyKind::Enter));
  EXPECT_TRUE(m.detail_open());
  ASSERT_NE(m.selected_detail(), nullptr);
  EXPECT_EQ(m.selected_detail()->comm, "python3");
  m.handle(key(KeyKind::Escape));
  EXPECT_FALSE(m.detail_open());
  // The selected process leaves: the selection moves to the first row.
  m.update(snapshot(0, 12 * kSec, {process(10, "java", 100 * kMs, 500)}));
  EXPECT_EQ(m.selected()->pid, 10u);
}

TEST(TopModel, PauseFreezesTheViewAndResumeShowsTheNewest) {
  TopModel m = three_processes();
  m.handle(ch('p'));
  EXPECT_TRUE(m.paused());
  m.update(snapshot(0, 12 * kSec, {process(99, "new", 0, 1)}));
  EXPECT_EQ(m.shown().taken_ns, 10 * kSec);
  EXPECT_EQ(m.rows().size(), 3u);
  m.handle(ch(' '));
  EXPECT_FALSE(m.paused());
  EXPECT_EQ(m.shown().taken_ns, 12 * kSec);
  EXPECT_EQ(pids(m), (std::vector<uint32_t>{99}));
  EXPECT_DOUBLE_EQ(m.rates().interval_s, 2);
}

TEST(TopModel, HelpClosesOnAnyKeyAndQuitAlwaysQuits) {
  TopModel m = three_processes();
  m.handle(ch('?'));
  EXPECT_TRUE(m.help_open());
  m.handle(ch('x'));
  EXPECT_FALSE(m.help_open());
  EXPECT_EQ(m.handle(ch('z')), KeyResult::Ignored);  // no such key
  m.handle(ch('h'));
  EXPECT_EQ(m.handle(ch('q')), KeyResult::Quit);
  EXPECT_EQ(m.handle(key(KeyKind::Resize)), KeyResult::Changed);
}

// ---- layout ----

std::string screen_text(TopModel& m, int w, int h) { return layout_frame(m, LayoutOptions{.width = w, .height = h}).text(); }

TopModel scenario_model() {
  TopModel m;
  Engine engine;
  gc::PauseStats pauses;
  engine.set_record_observer([&](const Record& r) { pauses.on_record(r); });
  test::scenario(true).feed(engine);
  CaptureHostInfo host;
  host.hostname = "infer-07";
  host.kernel_release = "6.12.48";
  m.set_source("replay of scenario.gtrace (end)");
  m.update(take_snapshot(SnapshotInputs{.engine = &engine, .pauses = &pauses, .host = &host}));
  return m;
}

TEST(TopModel, FindingsPaneListsNewestByEventTime) {
  TopModel m = scenario_model();
  std::vector<std::string> kinds;
  for (const Finding* f : m.findings_newest_first(10)) kinds.emplace_back(f->kind_name());
  // The fault burst (ends at 202 ms) is concluded last, when its window closes, yet is older
  // than the leaks.
  const std::vector<std::string> expected = {"dma_leak_unbind", "dma_leak_owner_exit", "dma_leak_owner_exit",
                                             "iommu_fault", "dma_unmap_unmatched"};
  EXPECT_EQ(kinds, expected);
  EXPECT_EQ(m.findings_newest_first(2).size(), 2u);
  EXPECT_EQ(m.findings_newest_first(10, 4242).size(), 2u);
}

TEST(TopLayout, FrameFillsTheTerminalExactlyAndNoLineIsWider) {
  TopModel m = scenario_model();
  for (auto [w, h] : {std::pair{160, 45}, {80, 24}, {50, 12}, {200, 60}}) {
    const Frame f = layout_frame(m, LayoutOptions{.width = w, .height = h});
    EXPECT_EQ(f.lines.size(), static_cast<size_t>(h)) << w << "x" << h;
    for (const auto& l : f.lines) EXPECT_LE(l.width(), static_cast<size_t>(w)) << l.text();
    EXPECT_NE(f.lines.back().text().find("q quit"), std::string::npos);
  }
}

TEST(TopLayout, ShowsHostDevicesProcessesAndNewestFindings) {
  TopModel m = scenario_model();
  const std::string s = screen_text(m, 160, 45);
  EXPECT_NE(s.find("gputrace top  infer-07  kernel 6.12.48  replay of scenario.gtrace (end)"), std::string::npos) << s;
  EXPECT_NE(s.find("findings 5 (3 critical, 2 warning, 0 info)"), std::string::npos) << s;
  // The GPU: PCIe link current vs max (downtrained: 16 of 32 GT/s), IOMMU mode, outstanding.
  EXPECT_NE(s.find("0000:41:00.0  nvidia       GPU  leaks 2  faults 0  link DOWNTRAINED 16GT/s x16 of 32GT/s x16  "
                   "iommu strict"),
            std::string::npos)
      << s;
  EXPECT_NE(s.find("    PID COMMAND"), std::string::npos);
  EXPECT_NE(s.find("FINDINGS (5, newest first)"), std::string::npos);
  EXPECT_NE(s.find("[crit]"), std::string::npos);
  // python3 paused for GC: 5.5 ms over the capture's 3 s, p99 of its three pauses.
  EXPECT_NE(s.find("4242 python3*"), std::string::npos) << s;
  EXPECT_NE(s.find("cpython"), std::string::npos) << s;
}

TEST(TopLayout, NarrowTerminalsDropLowPriorityColumnsFirst) {
  const auto wide = visible_columns(160);
  EXPECT_EQ(wide.size(), column_specs().size());
  const auto narrow = visible_columns(80);
  EXPECT_LT(narrow.size(), wide.size());
  for (Column c : {Column::Pid, Column::Command, Column::Leaks}) EXPECT_NE(std::find(narrow.begin(), narrow.end(), c), narrow.end());
  EXPECT_EQ(std::find(narrow.begin(), narrow.end(), Column::Container), narrow.end());
  int used = -1;
  for (Column c : narrow) used += spec(c).width + 1;
  EXPECT_LE(used, 80);
}

TEST(TopLayout, EveryColumnHasRoomForItsTitleAndTheSortMark) {
  for (const auto& s : column_specs()) EXPECT_GE(s.width, static_cast<int>(std::string(s.title).size()) + 1) << s.title;
}

TEST(TopLayout, TooSmallSaysSoWithTheSizesVisible) {
  TopModel m = scenario_model();
  EXPECT_EQ(screen_text(m, 30, 8), "gputrace top needs 50x12; this\nterminal is 30x8\n");
  EXPECT_EQ(screen_text(m, 49, 30), "gputrace top needs 50x12; this terminal is 49x30\n");
}

// 80x24, the size a person gets by default: what matters on each line must come first.
TEST(TopLayout, At80ColumnsThePausedFilterAndQuitStayOnTheStatusLine) {
  TopModel m = scenario_model();
  m.set_source("replay of /very/long/path/to/the/captures/of/yesterday/guest-6.12-strict.gtrace (end)");
  m.handle(ch('/'));
  for (char c : std::string("python")) m.handle(ch(c));
  m.handle(key(KeyKind::Enter));
  m.handle(ch('p'));
  m.set_status("report files written to /var/tmp/gputrace-reports/incident-42");
  const Frame f = layout_frame(m, LayoutOptions{.width = 80, .height = 24});
  const std::string status = f.lines.back().text();
  EXPECT_EQ(status.rfind("PAUSED  filter 'python' (Esc clears)", 0), 0u) << status;
  EXPECT_NE(status.find("q quit  ? help"), std::string::npos) << status;
  EXPECT_LE(status.size(), 80u);
  m.set_status("");
  const std::string roomy = layout_frame(m, LayoutOptions{.width = 80, .height = 24}).lines.back().text();
  EXPECT_NE(roomy.find("q quit  ? help  / filter  p pause"), std::string::npos) << roomy;
  const std::string wide = layout_frame(m, LayoutOptions{.width = 160, .height = 24}).lines.back().text();
  EXPECT_NE(wide.find("r reverse  p pause  Enter detail   sort FIND desc"), std::string::npos) << wide;
}

TEST(TopLayout, At80ColumnsTheDeviceLineShowsLeaksFaultsAndADowntrainedLink) {
  TopModel m = scenario_model();
  const std::string s = screen_text(m, 80, 24);
  EXPECT_NE(s.find("0000:00:04.0  gputrace_edu GPU  leaks 1  faults 3  link DOWNTRAINED"), std::string::npos) << s;
  EXPECT_NE(s.find("0000:41:00.0  nvidia       GPU  leaks 2  faults 0  link DOWNTRAINED"), std::string::npos) << s;
}

TEST(TopLayout, At80ColumnsHelpKeepsEveryKey) {
  TopModel m = scenario_model();
  m.handle(ch('?'));
  const std::string s = screen_text(m, 80, 24);
  for (const char* key : {"q  quit", "p, space  pause", "/  filter", "r  reverse", "Enter  its detail", "w  write report files"})
    EXPECT_NE(s.find(key), std::string::npos) << key << "\n" << s;
}

// s and S step through the columns on screen: sorting by a hidden one would look unsorted.
TEST(TopLayout, SortKeysStepThroughVisibleColumnsOnly) {
  TopModel m = scenario_model();
  (void)screen_text(m, 80, 24);
  const auto shown = visible_columns(80);
  for (int i = 0; i < 20; ++i) {
    m.handle(ch(i < 10 ? 's' : 'S'));
    EXPECT_NE(std::find(shown.begin(), shown.end(), m.sort_column()), shown.end()) << spec(m.sort_column()).title;
  }
}

// A truncated capture is said in every frame, --batch included (it has no status line).
TEST(TopLayout, BatchFramesCarryTheNotice) {
  TopModel m = scenario_model();
  m.set_notice("capture truncated at byte 4096: the rest is missing");
  const std::string s = layout_frame(m, LayoutOptions{.width = 160, .height = 0, .batch = true}).text();
  EXPECT_NE(s.find("\nnote: capture truncated at byte 4096: the rest is missing\n"), std::string::npos) << s;
  const std::string screen = screen_text(m, 120, 40);
  EXPECT_NE(screen.find("capture truncated at byte 4096"), std::string::npos) << screen;
}

TEST(TopLayout, HelpDetailAndFilterPrompt) {
  TopModel m = scenario_model();
  m.handle(ch('?'));
  std::string s = screen_text(m, 120, 40);
  EXPECT_NE(s.find("HELP  (any key closes it, q quits)"), std::string::npos);
  EXPECT_NE(s.find("GC-P99     99th percentile GC pause"), std::string::npos);
  EXPECT_EQ(s.find("    PID COMMAND"), std::string::npos);
  m.handle(ch('x'));
  m.handle(ch('/'));
  m.handle(ch('4'));
  const Frame f = layout_frame(m, LayoutOptions{.width = 120, .height = 40});
  EXPECT_EQ(f.lines.back().text().rfind("filter: 4", 0), 0u);
  EXPECT_EQ(f.cursor_row, 39);
  EXPECT_EQ(f.cursor_col, 9);
  m.handle(ch('2'));
  m.handle(key(KeyKind::Enter));
  m.handle(key(KeyKind::Enter));  // detail of the one row left: python3
  s = screen_text(m, 120, 40);
  EXPECT_NE(s.find("PROCESS 4242 python3  runtime cpython"), std::string::npos) << s;
  EXPECT_NE(s.find("GC   3 pauses, total 5.50 ms"), std::string::npos) << s;
  EXPECT_NE(s.find("pauses by length: <=500.0 us:1 <=2.50 ms:1 <=5.00 ms:1"), std::string::npos) << s;
  EXPECT_NE(s.find("dma_leak_owner_exit python3[4242]"), std::string::npos) << s;
}

TEST(TopLayout, BatchListsEverythingWithoutStatusLine) {
  TopModel m = scenario_model();
  const std::string s = layout_frame(m, LayoutOptions{.width = 160, .height = 0, .batch = true}).text();
  EXPECT_EQ(s.find("q quit"), std::string::npos);
  EXPECT_NE(s.find("FINDINGS (5, newest first)"), std::string::npos);
  size_t lines = 0;
  for (char c : s) lines += c == '\n';
  EXPECT_EQ(lines, 3 + 3 /*devices*/ + 1 + m.rows().size() + 1 + 5);
}

TEST(TopLayout, CellsAreShortAndNonPrintablesAreReplaced) {
  ProcessView r;
  r.pid = 7;
  r.comm = "a\tb\xff";
  r.exited = true;
  r.outstanding_bytes = 3 << 20;
  r.gc_pauses = 2;
  r.gc_share = 0.0231;
  r.gc_p99_ns = 4'560'000;
  r.dma_maps_per_s = 12345;
  EXPECT_EQ(cell_text(r, Column::Command), "a?b?*");
  EXPECT_EQ(cell_text(r, Column::OutstandingBytes), "3.0 MiB");
  EXPECT_EQ(cell_text(r, Column::GcShare), "2.31%");
  EXPECT_EQ(cell_text(r, Column::GcP99), "4.56 ms");
  EXPECT_EQ(cell_text(r, Column::DmaRate), "12.3k");
  EXPECT_EQ(cell_text(r, Column::Container), "-");
}

}  // namespace
}  // namespace gputrace::top
