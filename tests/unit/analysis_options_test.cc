// --threshold NAME=VALUE reaches the engine's configuration, and bad input is refused.
#include "userspace/cli/analysis_options.h"

#include <gtest/gtest.h>

namespace gputrace {
namespace {

Result<EngineConfig> parse(std::vector<std::string> args) {
  Options o;
  declare_analysis_options(o);
  if (auto r = o.parse(args); !r) return tl::unexpected(r.error());
  EngineConfig config;
  if (auto r = apply_analysis_options(o, config); !r) return tl::unexpected(r.error());
  return config;
}

TEST(AnalysisOptions, SetsThresholds) {
  auto c = parse({"--threshold", "stall_fraction=0.25", "--threshold", "idle_min=2ms", "--threshold", "gpu_window=3s",
                  "--threshold", "storm_min_unmaps=100"});
  ASSERT_TRUE(c) << c.error().describe();
  EXPECT_EQ(c->correlation.stall_fraction, 0.25);
  EXPECT_EQ(c->correlation.idle_min_ns, 2'000'000u);
  EXPECT_EQ(c->gpu_reorder_window_ns, 3'000'000'000u);
  EXPECT_EQ(c->correlation.storm_min_unmaps, 100u);
}

TEST(AnalysisOptions, RefusesUnknownNamesAndBadValues) {
  for (const char* bad : {"nope=1", "stall_fraction", "stall_fraction=0", "stall_fraction=1.5", "idle_min=abc",
                          "storm_min_unmaps=-3", "storm_min_unmaps=inf", "storm_min_unmaps=nan",
                          "min_judged_bytes=1e30", "baseline_min_samples=0", "baseline_min_samples=2.5",
                          "stall_fraction=nan", "history_span=1s"}) {
    auto c = parse({"--threshold", bad});
    EXPECT_FALSE(c) << bad;
  }
  EXPECT_FALSE(parse({"--threshold", "gpu_window=40s"})) << "the history must outlast the GPU window";
  EXPECT_TRUE(parse({"--threshold", "gpu_window=40s", "--threshold", "history_span=60s"}));
}

}  // namespace
}  // namespace gputrace
