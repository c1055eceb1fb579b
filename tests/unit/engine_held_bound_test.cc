// The kernel reorder window holds a bounded number of records: a capture of millions of
// records with one timestamp (651 KB of compressed zeros once took 597 MB) goes through in
// bounded memory, every record processed, the early ones counted.
#include "record_builder.h"
#include "userspace/engine/engine.h"
#include "userspace/engine/losses.h"

#include <gtest/gtest.h>

namespace gputrace {
namespace {

TEST(EngineHeldBound, OneTimestampRepeatedKeepsTheReorderBufferBounded) {
  EngineConfig config;
  config.max_held_kernel_records = 1000;
  Engine engine(config);
  test::TraceBuilder one;
  one.gc_begin(42, 5 * test::kMs);
  const Record r = one.records().front();
  constexpr size_t kRecords = 100'000;
  for (size_t i = 0; i < kRecords; ++i) engine.push(r);
  EXPECT_LE(engine.stats().max_held_records, 1001u);
  EXPECT_GT(engine.stats().kernel_released_early, 0u);
  EXPECT_EQ(engine_loss_counts(engine)[Loss::kernel_released_early], engine.stats().kernel_released_early);
  engine.finish();
  EXPECT_EQ(engine.stats().records_processed, kRecords);
}

}  // namespace
}  // namespace gputrace
