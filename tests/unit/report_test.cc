// Report writers against golden files, diffed in full. Regenerate after an intended change:
//   GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='Report*'
#include "golden.h"
#include "report_scenario.h"

#include <sstream>

namespace gputrace {
namespace {

using test::expect_golden;
using test::scenario;
using test::scenario_header;
using test::kGpu;
using test::TraceBuilder;

std::string render(ReportFormat format) {
  const TraceBuilder trace = scenario();
  Engine engine;
  trace.feed(engine);
  std::ostringstream out;
  write_report(build_report_model(engine, scenario_header()), format, out);
  return out.str();
}

TEST(Report, JsonMatchesGolden) { expect_golden(render(ReportFormat::Json), "report_scenario.json"); }

TEST(Report, TextMatchesGolden) { expect_golden(render(ReportFormat::Text), "report_scenario.txt"); }

TEST(Report, SameInputSameBytes) { EXPECT_EQ(render(ReportFormat::Json), render(ReportFormat::Json)); }

TEST(Report, ScenarioFindingsAreTheExpectedOnes) {
  const TraceBuilder trace = scenario();
  Engine engine;
  trace.feed(engine);
  const auto model = build_report_model(engine, scenario_header());
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
  const auto model = build_report_model(engine, scenario_header());
  ASSERT_EQ(model["processes"].size(), 1u);
  EXPECT_EQ(model["processes"][0]["start_ns"], 0);
  EXPECT_EQ(model["processes"][0]["exit_ns"], 20 * test::kMs);
}

}  // namespace
}  // namespace gputrace
