// Report writers against golden files, diffed in full. Regenerate after an intended change:
//   GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='Report*'
#include "golden.h"
#include "report_scenario.h"

#include <cstring>
#include <map>
#include <sstream>

namespace gputrace {
namespace {

using test::expect_golden;
using test::scenario;
using test::scenario_json;
using test::scenario_snapshot;
using test::kGpu;
using test::TraceBuilder;

std::string render(ReportFormat format) {
  const TraceBuilder trace = scenario();
  Engine engine;
  trace.feed(engine);
  const HostSnapshot s = scenario_snapshot(engine);
  return format == ReportFormat::Json ? render_report_json(s) : render_text_report(s);
}

TEST(Report, JsonMatchesGolden) { expect_golden(render(ReportFormat::Json), "report_scenario.json"); }

TEST(Report, TextMatchesGolden) { expect_golden(render(ReportFormat::Text), "report_scenario.txt"); }

TEST(Report, SameInputSameBytes) { EXPECT_EQ(render(ReportFormat::Json), render(ReportFormat::Json)); }

TEST(Report, ScenarioFindingsAreTheExpectedOnes) {
  const TraceBuilder trace = scenario();
  Engine engine;
  trace.feed(engine);
  const auto model = scenario_json(engine);
  EXPECT_EQ(model["schema"], "gputrace.report/1");
  const auto& by_kind = model["summary"]["by_kind"];
  EXPECT_EQ(by_kind["dma_leak_owner_exit"], 2);  // python3's two buffers; not insmod's ring
  EXPECT_EQ(by_kind["dma_leak_unbind"], 1);      // edu's 0x100000
  EXPECT_EQ(by_kind["dma_unmap_unmatched"], 1);  // the double unmap
  EXPECT_EQ(by_kind["iommu_fault"], 1);          // three faults within a second
  EXPECT_EQ(model["findings"][0]["severity"], "critical");
  bool saw_decode_errors = false;
  for (const auto& l : model["losses"]) saw_decode_errors |= l["name"] == "decode_errors";
  EXPECT_TRUE(saw_decode_errors);
}

// The mapping owner of a process the table had not described yet (no /proc snapshot entry,
// no exec seen) is keyed with start_ns 0; its exit must still show.
TEST(Report, OwnerOfAnUndescribedProcessThatExitedIsMarkedExited) {
  TraceBuilder t;
  t.device(1, kGpu, "0000:41:00.0", "nvidia");
  t.map(10 * test::kMs, kGpu, 0x1000, 4096, {.pid = 392, .comm = "edu_user"});
  t.unmap(11 * test::kMs, kGpu, 0x1000, 4096, {.pid = 392, .comm = "edu_user"});
  t.exit(20 * test::kMs, 392, 7 * test::kMs, "edu_user");
  Engine engine;
  t.feed(engine);
  const auto model = scenario_json(engine);
  ASSERT_EQ(model["processes"].size(), 1u);
  EXPECT_EQ(model["processes"][0]["start_ns"], 0);
  EXPECT_EQ(model["processes"][0]["exit_ns"], 20 * test::kMs);
}

gt_gpu_status_event library_status(uint32_t state, uint32_t clock_mode) {
  gt_gpu_status_event e{};
  e.state = state;
  e.clock_mode = clock_mode;
  return e;
}

// The injection library's status reaches the report: a process whose CUPTI another tool
// holds is listed and says so, a calibrated clock gives its bound, lost records are counted.
TEST(Report, ShowsWhatEachInjectionLibraryCouldAndCouldNotDo) {
  TraceBuilder t;
  t.proc_info(1, 500, 1, "profiled");
  t.proc_info(2, 600, 1, "server");
  auto held = library_status(GT_GPU_STATE_OTHER_SUBSCRIBER, GT_GPU_CLOCK_MONOTONIC);
  held.cupti_result = 39;
  std::strcpy(held.holder, "Nsight Systems");
  t.add(held, GT_EV_GPU_STATUS, 5 * test::kMs, 500);
  auto lossy = library_status(GT_GPU_STATE_ACTIVE, GT_GPU_CLOCK_CALIBRATED);
  lossy.clock_error_ns = 2500;
  lossy.dropped_cupti = 7;
  lossy.dropped_local = 3;
  t.add(library_status(GT_GPU_STATE_ACTIVE, GT_GPU_CLOCK_MONOTONIC), GT_EV_GPU_STATUS, 5 * test::kMs, 600);
  t.gpu_kernel(600, 6 * test::kMs, 7 * test::kMs);
  t.add(lossy, GT_EV_GPU_STATUS, 8 * test::kMs, 600);  // the latest one holds
  gt_gpu_lib_losses_event unshipped{};
  unshipped.untimed = 4;
  unshipped.buffers_cut_short = 1;
  unshipped.headers_version = 130200;
  unshipped.flags = GT_GPU_LAYOUT_UNVERIFIED;
  t.add(unshipped, GT_EV_GPU_LIB_LOSSES, 8 * test::kMs, 600);
  Engine engine;
  t.feed(engine);
  const auto model = scenario_json(engine);

  const auto& procs = model["gpu"]["processes"];
  ASSERT_EQ(procs.size(), 2u);
  EXPECT_EQ(procs[0]["library"]["state"], "other_subscriber");
  EXPECT_EQ(procs[0]["library"]["holder"], "Nsight Systems");
  EXPECT_EQ(procs[1]["kernels"], 1);
  EXPECT_EQ(procs[1]["library"]["clock"], "calibrated");
  EXPECT_EQ(procs[1]["library"]["dropped_cupti"], 7);
  uint64_t dropped_cupti = 0, dropped_local = 0;
  for (const auto& l : model["losses"]) {
    if (l["name"] == "gpu_records_dropped_by_cupti") dropped_cupti = l["count"];
    if (l["name"] == "gpu_records_dropped_in_process") dropped_local = l["count"];
  }
  EXPECT_EQ(dropped_cupti, 7u);
  EXPECT_EQ(dropped_local, 3u);
  EXPECT_EQ(procs[1]["library"]["untimed"], 4);
  EXPECT_EQ(procs[1]["library"]["layout_unverified"], true);

  std::ostringstream text;
  text << render_text_report(scenario_snapshot(engine));
  EXPECT_NE(text.str().find("pid 500 (profiled): no GPU timeline: CUPTI is held by Nsight Systems"), std::string::npos)
      << text.str();
  EXPECT_NE(text.str().find("pid 600 (server): GPU times calibrated to CLOCK_MONOTONIC within 2.5 us"),
            std::string::npos);
  EXPECT_NE(text.str().find("pid 600 (server): 10 GPU records lost in the process (7 by CUPTI"), std::string::npos);
  EXPECT_NE(text.str().find("pid 600 (server): the library could not ship 4 untimed and 0 truncated records; 1 buffers"),
            std::string::npos);
  EXPECT_NE(text.str().find("built against CUPTI 130200, newer than the record layouts"), std::string::npos);
}

// What an attached library's guards dropped, its own overhead and its detached state.
TEST(Report, ShowsTheGuardsTheOverheadAndADetach) {
  TraceBuilder t;
  t.proc_info(3, 700, 1, "attached");
  t.gpu_kernel(700, 6 * test::kMs, 7 * test::kMs);
  gt_gpu_overhead_event o{};
  o.end_ns = 5 * test::kMs + 2000;
  o.overhead_kind = 1u << 16;
  o.object_kind = 2;
  t.add(o, GT_EV_GPU_OVERHEAD, 5 * test::kMs, 700);
  gt_gpu_guards_event g{};
  g.process_rate_limited = 100;
  g.thread_rate_limited = 20;
  g.invalid_timestamp = 3;
  g.non_monotonic = 4;
  g.buffers_refused = 2;
  g.process_limit = 5000;
  t.add(g, GT_EV_GPU_GUARDS, 8 * test::kMs, 700);
  t.add(library_status(GT_GPU_STATE_DETACHED, GT_GPU_CLOCK_MONOTONIC), GT_EV_GPU_STATUS, 8 * test::kMs, 700);
  Engine engine;
  t.feed(engine);
  const HostSnapshot snapshot = scenario_snapshot(engine);
  const auto model = nlohmann::json::parse(render_report_json(snapshot));
  const auto& p = model["gpu"]["processes"][0];
  EXPECT_EQ(p["overhead_records"], 1);
  EXPECT_EQ(p["overhead_ns"], 2000);
  EXPECT_EQ(p["library"]["state"], "detached");
  EXPECT_EQ(p["library"]["guards"]["process_rate_limited"], 100);
  EXPECT_EQ(p["library"]["guards"]["process_limit"], 5000);
  std::map<std::string, uint64_t> losses;
  for (const auto& l : model["losses"]) losses[l["name"]] = l["count"];
  EXPECT_EQ(losses["gpu_records_rate_limited_process"], 100u);
  EXPECT_EQ(losses["gpu_records_rate_limited_thread"], 20u);
  EXPECT_EQ(losses["gpu_records_invalid_timestamp"], 3u);
  EXPECT_EQ(losses["gpu_records_non_monotonic"], 4u);
  EXPECT_EQ(losses["gpu_buffers_refused"], 2u);
  const std::string text = render_text_report(snapshot);
  EXPECT_NE(text.find("pid 700 (attached): the library's guards dropped 120 records over its rate limits and 7 "
                            "with impossible timestamps, and refused CUPTI 2 buffers"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace gputrace
