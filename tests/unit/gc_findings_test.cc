// The GC findings (gc_pause_long, gc_share_high, gc_full_repeated) on synthetic pause records
// fed through the engine: each fires on a trace that crosses its threshold and not on one
// just below it; --threshold changes them.
#include "record_builder.h"

#include "userspace/cli/analysis_options.h"

#include <gtest/gtest.h>

namespace gputrace {
namespace {

using test::findings_of;
using test::TraceBuilder;

constexpr uint64_t kMs = 1'000'000, kS = 1'000'000'000;

std::vector<Finding> run(const TraceBuilder& t, EngineConfig config = {}) {
  Engine engine(config);
  t.feed(engine);
  return engine.findings();
}

size_t count(const std::vector<Finding>& all, std::string_view kind) {
  return static_cast<size_t>(std::count_if(all.begin(), all.end(), [&](const Finding& f) { return f.kind_name() == kind; }));
}

TEST(GcFindings, PauseLongFiresAbove200msOnly) {
  TraceBuilder t;
  t.exec(1 * kS, 100, 1 * kS, "java", "/usr/bin/java");
  t.jvm_pause(100, 2 * kS, 199 * kMs);          // below
  t.jvm_pause(100, 3 * kS, 200 * kMs);          // at the threshold: not over it
  t.jvm_pause(100, 4 * kS, 250 * kMs, true);    // over
  t.go_pause(200, 5 * kS, 300 * kMs, GT_GC_CAUSE_NOT_GC);  // a ReadMemStats stop: not GC
  const auto all = run(t);
  ASSERT_EQ(count(all, "gc_pause_long"), 1u);
  const Finding& f = *std::find_if(all.begin(), all.end(), [](const Finding& f) { return f.kind_name() == "gc_pause_long"; });
  EXPECT_EQ(f.pid, 100u);
  EXPECT_EQ(f.comm, "java");
  EXPECT_EQ(f.start_ns, 4 * kS);
  EXPECT_EQ(f.end_ns, 4 * kS + 250 * kMs);
  EXPECT_EQ(f.evidence["duration_ns"], 250 * kMs);
  EXPECT_EQ(f.evidence["kind"], "full");
  EXPECT_EQ(f.evidence["runtime"], "hotspot");
  EXPECT_EQ(f.evidence["ns_pid"], 100u);
  EXPECT_EQ(f.evidence["pauses"].size(), 1u);
  EXPECT_NE(f.message.find("250 ms"), std::string::npos) << f.message;
}

// 20 ms of pause every 100 ms = 20 % of wall time: over 15 %; 10 ms every 100 ms is not.
TraceBuilder steady(uint32_t pid, uint64_t pause_ns, uint64_t seconds) {
  TraceBuilder t;
  for (uint64_t at = 1 * kS; at < (1 + seconds) * kS; at += 100 * kMs) t.gc_pause(pid, at, pause_ns);
  return t;
}

TEST(GcFindings, ShareHighFiresOncePerEpisodeAfterAWholeWindow) {
  const auto high = run(steady(100, 20 * kMs, 70));
  ASSERT_EQ(count(high, "gc_share_high"), 1u) << "one episode, one finding";
  const Finding& f = *std::find_if(high.begin(), high.end(), [](const Finding& f) { return f.kind_name() == "gc_share_high"; });
  EXPECT_NEAR(f.evidence["share"].get<double>(), 0.20, 0.01);
  EXPECT_EQ(f.evidence["window_ns"], 60 * kS);
  EXPECT_GE(f.end_ns, 61 * kS) << "judged only once a whole window was seen";
  EXPECT_EQ(f.evidence["runtime"], "cpython");

  EXPECT_EQ(count(run(steady(100, 10 * kMs, 70)), "gc_share_high"), 0u) << "10 % is below 15 %";
  EXPECT_EQ(count(run(steady(100, 20 * kMs, 30)), "gc_share_high"), 0u) << "30 s: no whole 60 s window yet";
}

TEST(GcFindings, ShareHighRearmsAfterTheShareDrops) {
  TraceBuilder t = steady(100, 20 * kMs, 70);  // 1..71 s: high
  for (uint64_t at = 72 * kS; at < 200 * kS; at += 1 * kS) t.gc_pause(100, at, 1 * kMs);  // low
  for (uint64_t at = 200 * kS; at < 270 * kS; at += 100 * kMs) t.gc_pause(100, at, 30 * kMs);  // high again
  EXPECT_EQ(count(run(t), "gc_share_high"), 2u);
}

TEST(GcFindings, FullRepeatedNeedsThreeInAMinute) {
  TraceBuilder three;
  three.jvm_pause(100, 1 * kS, 50 * kMs, true).jvm_pause(100, 2 * kS, 5 * kMs).jvm_pause(100, 20 * kS, 60 * kMs, true);
  three.jvm_pause(100, 50 * kS, 70 * kMs, true).jvm_pause(100, 55 * kS, 70 * kMs, true);
  const auto all = run(three);
  ASSERT_EQ(count(all, "gc_full_repeated"), 1u) << "the 4th full collection continues the episode";
  const Finding& f = *std::find_if(all.begin(), all.end(), [](const Finding& f) { return f.kind_name() == "gc_full_repeated"; });
  EXPECT_EQ(f.evidence["full_collections"], 3u);
  EXPECT_EQ(f.start_ns, 1 * kS);
  EXPECT_NE(f.message.find("3 full collections within 49.1 s"), std::string::npos) << f.message;
  ASSERT_EQ(f.evidence["pauses"].size(), 3u);
  for (const auto& p : f.evidence["pauses"]) EXPECT_EQ(p["kind"], "full");

  TraceBuilder spread;  // three full collections, but 40 s apart
  spread.jvm_pause(100, 1 * kS, 50 * kMs, true).jvm_pause(100, 41 * kS, 50 * kMs, true).jvm_pause(100, 81 * kS, 50 * kMs, true);
  for (uint64_t at = 1 * kS; at < 60 * kS; at += 1 * kS) spread.jvm_pause(200, at, 5 * kMs);  // young only
  EXPECT_EQ(count(run(spread), "gc_full_repeated"), 0u);

  TraceBuilder python;  // CPython's generation-2 collections are its normal schedule, not "full"
  for (uint64_t at = 1 * kS; at < 4 * kS; at += 1 * kS) python.gc_pause(300, at, 5 * kMs, 2);
  EXPECT_EQ(count(run(python), "gc_full_repeated"), 0u);

  TraceBuilder go;  // Go's cycles are never "full"
  for (uint64_t at = 1 * kS; at < 10 * kS; at += 1 * kS) go.go_pause(400, at, 1 * kMs, GT_GC_CAUSE_GO_MARK_TERM);
  EXPECT_EQ(count(run(go), "gc_full_repeated"), 0u);
}

TEST(GcFindings, ThresholdsComeFromTheCommandLine) {
  Options o;
  declare_analysis_options(o);
  ASSERT_TRUE(o.parse({"--threshold", "gc_pause_long=50ms", "--threshold", "gc_share=0.05", "--threshold",
                       "gc_share_window=10s", "--threshold", "gc_full_count=2", "--threshold", "gc_full_window=5s"}));
  EngineConfig config;
  ASSERT_TRUE(apply_analysis_options(o, config));
  EXPECT_EQ(config.gc.pause_long_ns, 50 * kMs);
  EXPECT_EQ(config.gc.share_fraction, 0.05);
  EXPECT_EQ(config.gc.share_window_ns, 10 * kS);
  EXPECT_EQ(config.gc.full_count, 2u);
  EXPECT_EQ(config.gc.full_window_ns, 5 * kS);
  // Below the defaults, now over the changed thresholds.
  const auto all = run(steady(100, 10 * kMs, 15).jvm_pause(200, 1 * kS, 60 * kMs, true).jvm_pause(200, 3 * kS, 10 * kMs, true),
                       config);
  EXPECT_EQ(count(all, "gc_pause_long"), 1u);
  EXPECT_EQ(count(all, "gc_share_high"), 1u);
  EXPECT_EQ(count(all, "gc_full_repeated"), 1u);

  for (const char* bad : {"gc_share=1.5", "gc_share=0", "gc_full_count=0", "gc_full_count=9", "gc_full_count=2.5",
                          "gc_pause_long=0s", "gc_share_window=abc"}) {
    Options b;
    declare_analysis_options(b);
    ASSERT_TRUE(b.parse({"--threshold", bad}));
    EngineConfig c;
    EXPECT_FALSE(apply_analysis_options(b, c)) << bad;
  }
}

}  // namespace
}  // namespace gputrace
