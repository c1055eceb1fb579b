// The spans findings stand for, and their budget apart from the pause and copy spans.
#include "exporters/telemetry/finding_spans.h"

#include <gtest/gtest.h>

namespace gputrace {
namespace {

using telemetry::finding_spans;

TEST(FindingSpans, FindingsWithATimeRangeBecomeSpansThatKnowTheirFinding) {
  Finding stall{.kind = FindingKind::pcie_stall, .severity = Severity::Warning, .start_ns = 5, .end_ns = 9, .pid = 7, .device = "0000:41:00.0"};
  Finding timeless{.kind = FindingKind::dma_mapping_growth, .severity = Severity::Info};
  Finding fault{.kind = FindingKind::iommu_fault, .severity = Severity::Critical, .start_ns = 3, .end_ns = 3};
  stall.evidence = {{"bytes", 4096}};
  const std::vector<Finding> findings{stall, timeless, fault};
  const auto got = finding_spans(findings, 10);
  ASSERT_EQ(got.spans.size(), 2u);
  EXPECT_EQ(got.not_kept, 0u);
  EXPECT_EQ(got.spans[0].name, "pcie.stall");
  EXPECT_EQ(got.spans[0].evidence["bytes"], 4096);
  EXPECT_EQ(got.spans[0].device, "0000:41:00.0");
  EXPECT_FALSE(got.spans[0].error);
  EXPECT_EQ(got.spans[0].finding, 0u);
  EXPECT_EQ(got.spans[1].name, "finding.iommu_fault");
  EXPECT_TRUE(got.spans[1].error);
  EXPECT_EQ(got.spans[1].finding, 2u);  // its index among the findings, the one without a span counted
}

TEST(FindingSpans, BeyondTheirBudgetTheyAreCounted) {
  const std::vector<Finding> findings(5, Finding{.kind = FindingKind::pcie_stall, .severity = Severity::Warning, .start_ns = 1, .end_ns = 2});
  const auto got = finding_spans(findings, 3);
  EXPECT_EQ(got.spans.size(), 3u);
  EXPECT_EQ(got.not_kept, 2u);
}

}  // namespace
}  // namespace gputrace
