// Load shedding (userspace/session/load_shedder.h): the host-pressure parsers on /proc
// text and on a directory laid out like /proc, the shedder's steps up and back down with
// injected readings, and the GT_EV_SHED records carried through the engine to the report,
// top and the metrics.
#include "exporters/report/report.h"
#include "exporters/telemetry/metric_model.h"
#include "report_scenario.h"
#include "temp_dir.h"
#include "userspace/engine/engine.h"
#include "userspace/host/host_pressure.h"
#include "userspace/session/load_shedder.h"
#include "views/top/top_layout.h"
#include "views/top/top_model.h"

#include <gtest/gtest.h>

#include <fstream>

namespace gputrace {
namespace {

using test::kSec;

TEST(HostPressure, ParsesProcStatPsiAndMeminfo) {
  const auto t = parse_proc_stat_cpu("cpu  100 5 50 800 40 3 2 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->total, 1000u);
  EXPECT_EQ(t->busy, 160u);  // idle and iowait are not busy
  EXPECT_FALSE(parse_proc_stat_cpu("intr 1 2 3\n"));
  EXPECT_DOUBLE_EQ(*parse_psi_some_avg10("some avg10=12.50 avg60=3.00 avg300=1.00 total=1\n"
                                         "full avg10=1.00 avg60=0.00 avg300=0.00 total=0\n"),
                   12.5);
  EXPECT_FALSE(parse_psi_some_avg10("full avg10=1.00\n"));
  EXPECT_DOUBLE_EQ(*parse_meminfo_available_pct("MemTotal:       1000 kB\nMemFree: 10 kB\nMemAvailable:     50 kB\n"),
                   5.0);
  EXPECT_FALSE(parse_meminfo_available_pct("MemTotal: 1000 kB\n"));
}

void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

TEST(HostPressure, ReadsADirectoryLaidOutLikeProc) {
  test_support::TempDir dir;
  std::filesystem::create_directories(dir.path() / "pressure");
  write(dir.path() / "stat", "cpu  100 0 0 900 0 0 0 0 0 0\n");
  write(dir.path() / "meminfo", "MemTotal: 2000 kB\nMemAvailable: 1000 kB\n");
  PressureReader reader(dir.path().string());
  HostPressure first = reader.read();
  EXPECT_FALSE(first.cpu_busy_pct);       // a share needs two readings
  EXPECT_FALSE(first.memory_some_avg10);  // no PSI file
  EXPECT_DOUBLE_EQ(*first.memory_available_pct, 50);
  write(dir.path() / "stat", "cpu  190 0 0 910 0 0 0 0 0 0\n");  // 90 of the next 100 ticks busy
  write(dir.path() / "pressure" / "memory", "some avg10=0.50 avg60=0 avg300=0 total=0\n");
  HostPressure second = reader.read();
  EXPECT_DOUBLE_EQ(*second.cpu_busy_pct, 90);
  EXPECT_DOUBLE_EQ(*second.memory_some_avg10, 0.5);
}

PressureSample cpu(double pct) { return PressureSample{.host = {.cpu_busy_pct = pct}}; }

TEST(LoadShedder, StepsUpWhilePressureLastsAndBackWhenItPasses) {
  LoadShedder s(ShedThresholds{.sustain_ns = 3 * kSec, .recover_ns = 5 * kSec});
  std::vector<std::pair<uint64_t, uint32_t>> changes;  // second, new level
  for (uint64_t t = 0; t <= 40; ++t) {
    const bool pressed = t < 12;  // 12 s of a busy host, then calm
    if (auto level = s.update(cpu(pressed ? 95 : 20), t * kSec)) changes.emplace_back(t, *level);
  }
  const std::vector<std::pair<uint64_t, uint32_t>> want = {{3, 1}, {6, 2}, {9, 3}, {17, 2}, {22, 1}, {27, 0}};
  EXPECT_EQ(changes, want);
  EXPECT_EQ(shed_flags_of(1), uint32_t{GT_SHED_STACKS});
  EXPECT_EQ(shed_flags_of(3), uint32_t{GT_SHED_STACKS | GT_SHED_GPU_API | GT_SHED_GC_MARKERS});
}

TEST(LoadShedder, EachPressureCountsAndAShortSpikeDoesNot) {
  const ShedThresholds t;
  EXPECT_EQ(pressure_reasons(cpu(85), t), 0u);  // "above"
  EXPECT_EQ(pressure_reasons(cpu(85.5), t), uint32_t{GT_SHED_REASON_CPU});
  EXPECT_EQ(pressure_reasons(PressureSample{.host = {.memory_some_avg10 = 11}}, t), uint32_t{GT_SHED_REASON_MEMORY_PSI});
  EXPECT_EQ(pressure_reasons(PressureSample{.host = {.memory_available_pct = 7.9}}, t),
            uint32_t{GT_SHED_REASON_MEMORY_AVAILABLE});
  EXPECT_EQ(pressure_reasons(PressureSample{.longest_gc_pause_ns = 250'000'000}, t), uint32_t{GT_SHED_REASON_GC_PAUSE});
  LoadShedder s(t);  // sustain 10 s
  for (uint64_t sec = 0; sec < 9; ++sec) EXPECT_FALSE(s.update(cpu(99), sec * kSec));
  EXPECT_FALSE(s.update(cpu(10), 9 * kSec));  // calm before it lasted: the count starts over
  for (uint64_t sec = 10; sec < 19; ++sec) EXPECT_FALSE(s.update(cpu(99), sec * kSec));
  EXPECT_EQ(s.level(), 0u);
  LoadShedder off(ShedThresholds{.enabled = false, .sustain_ns = 0});
  EXPECT_FALSE(off.update(cpu(100), kSec));
}

gt_shed_event shed(uint32_t level, uint32_t reasons) {
  gt_shed_event e{};
  e.level = level;
  e.reasons = reasons;
  e.flags = shed_flags_of(level);
  e.cpu_busy = 9650;
  e.memory_psi = GT_SHED_UNKNOWN;
  e.memory_available = 4200;
  return e;
}

TEST(LoadShedding, TheReportTopAndMetricsSayWhatWasShedAndForHowLong) {
  test::TraceBuilder t;
  t.proc_info(1, 500, 1, "server");
  t.add(shed(1, GT_SHED_REASON_CPU), GT_EV_SHED, 10 * kSec);
  t.add(shed(2, GT_SHED_REASON_CPU), GT_EV_SHED, 20 * kSec);
  t.add(shed(1, 0), GT_EV_SHED, 50 * kSec);
  t.add(shed(0, 0), GT_EV_SHED, 60 * kSec);
  t.add(shed(1, GT_SHED_REASON_GC_PAUSE), GT_EV_SHED, 70 * kSec);
  t.gc_pause(500, 75 * kSec, kSec / 100);
  Engine engine;
  t.feed(engine);
  const HostSnapshot s = test::scenario_snapshot(engine);
  ASSERT_TRUE(s.shedding);
  EXPECT_EQ(s.shedding->level, 1u);
  EXPECT_EQ(s.shedding->reasons, "gc_pause");
  EXPECT_EQ(s.shedding->shed, std::vector<std::string>{"stacks"});
  EXPECT_EQ(s.shedding->changes, 5u);
  EXPECT_EQ(s.shedding->since_ns, 70 * kSec);
  EXPECT_EQ(s.shedding->shed_ns, 50 * kSec + (s.taken_ns - 70 * kSec));  // 10..60 s, then since 70 s
  EXPECT_DOUBLE_EQ(*s.shedding->cpu_busy_pct, 96.5);
  EXPECT_FALSE(s.shedding->memory_psi);

  const std::string text = render_text_report(s);
  EXPECT_NE(text.find("LOAD SHEDDING: level 1 since 70000000000 ns (pressure: gc_pause), shedding stacks; 5 changes"),
            std::string::npos)
      << text;
  const auto json = nlohmann::json::parse(render_report_json(s));
  EXPECT_EQ(json["shedding"]["level"], 1);
  EXPECT_EQ(json["shedding"]["shed"][0], "stacks");

  top::TopModel m;
  m.update(s);
  const std::string screen = top::layout_frame(m, top::LayoutOptions{.width = 160, .height = 45}).text();
  EXPECT_NE(screen.find("LOAD SHEDDING level 1 (gc_pause): stacks not recorded"), std::string::npos) << screen;

  const telemetry::MetricModel metrics = telemetry::build_metric_model(s, telemetry::ProcessSelection(10));
  bool level_seen = false;
  for (const auto& f : metrics.families)
    if (f.name == "gputrace.shedding.level") level_seen = !f.points.empty() && f.points[0].int_value == 1;
  EXPECT_TRUE(level_seen);
}

TEST(LoadShedding, NoSectionWhenNothingWasEverShed) {
  Engine engine;
  test::TraceBuilder().proc_info(1, 500, 1, "server").feed(engine);
  const HostSnapshot s = test::scenario_snapshot(engine);
  EXPECT_FALSE(s.shedding);
  EXPECT_EQ(render_text_report(s).find("LOAD SHEDDING"), std::string::npos);
}

}  // namespace
}  // namespace gputrace
