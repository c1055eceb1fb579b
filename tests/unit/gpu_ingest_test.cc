#include "userspace/gpu/gpu_ingest.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <vector>

namespace gputrace {
namespace {

std::vector<std::byte> memset_batch(uint64_t seq, uint32_t records, uint64_t ts = 0) {
  gt_gpu_batch h{};
  h.magic = GT_GPU_BATCH_MAGIC;
  h.version = GT_GPU_BATCH_VERSION;
  h.header_size = sizeof(h);
  h.seq = seq;
  h.count = records;
  h.bytes = static_cast<uint32_t>(records * sizeof(gt_gpu_memset_event));
  std::vector<std::byte> out(sizeof(h) + h.bytes);
  std::memcpy(out.data(), &h, sizeof(h));
  for (uint32_t i = 0; i < records; ++i) {
    gt_gpu_memset_event e{};
    e.hdr.kind = GT_EV_GPU_MEMSET;
    e.hdr.size = sizeof(e);
    e.bytes = i;
    e.hdr.ts_ns = ts;
    e.end_ns = ts;
    std::memcpy(out.data() + sizeof(h) + i * sizeof(e), &e, sizeof(e));
  }
  return out;
}

TEST(GpuIngest, HandsOnRecordsInOrderAndCountsRejections) {
  GpuIngest ingest;
  std::vector<uint64_t> seen;
  auto sink = [&](const Record& r) { seen.push_back(r.as<gt_gpu_memset_event>().bytes); };
  EXPECT_TRUE(ingest.ingest_datagram(memset_batch(0, 3), 10, 0, sink));
  EXPECT_EQ(seen, (std::vector<uint64_t>{0, 1, 2}));
  auto bad = memset_batch(1, 1);
  bad[0] = std::byte{0};
  EXPECT_FALSE(ingest.ingest_datagram(bad, 10, 0, sink));
  EXPECT_EQ(ingest.stats().batches, 1u);
  EXPECT_EQ(ingest.stats().records, 3u);
  EXPECT_EQ(ingest.stats().rejected[static_cast<size_t>(BatchReject::BadMagic)], 1u);
  EXPECT_EQ(ingest.stats().rejected_total(), 1u);
}

TEST(GpuIngest, CountsSequenceGapsPerProcess) {
  GpuIngest ingest;
  auto sink = [](const Record&) {};
  ingest.ingest_datagram(memset_batch(0, 1), 10, 0, sink);
  ingest.ingest_datagram(memset_batch(0, 1), 11, 0, sink);  // another process: its own sequence
  ingest.ingest_datagram(memset_batch(3, 1), 10, 0, sink);  // 1 and 2 lost
  ingest.ingest_datagram(memset_batch(0, 1), 10, 0, sink);  // a new process reusing the pid
  ingest.ingest_datagram(memset_batch(uint64_t{1} << 40, 1), 10, 0, sink);  // a lie, not a loss
  EXPECT_EQ(ingest.stats().batches_lost, 2u);
}

// A library that could not align CUPTI's clock sends timestamps on CUPTI's own (realtime)
// clock: decades past the daemon's CLOCK_MONOTONIC. Dropped and counted, never placed.
TEST(GpuIngest, DropsRecordsStampedFarInTheFuture) {
  GpuIngest ingest;
  size_t seen = 0;
  auto sink = [&](const Record&) { ++seen; };
  const uint64_t now = 5'000'000'000'000;  // 5000 s of uptime
  EXPECT_TRUE(ingest.ingest_datagram(memset_batch(0, 2, now + 1'000'000), 10, now, sink));  // 1 ms ahead: fine
  EXPECT_TRUE(ingest.ingest_datagram(memset_batch(1, 3, 1'765'000'000'000'000'000), 10, now, sink));
  EXPECT_EQ(seen, 2u);
  EXPECT_EQ(ingest.stats().records_misdated, 3u);
  EXPECT_EQ(ingest.stats().records, 5u);
}

// A plausible start with an end a century away would hold every judgement back for good.
TEST(GpuIngest, DropsActivityEndingFarInTheFuture) {
  GpuIngest ingest;
  size_t seen = 0;
  auto sink = [&](const Record&) { ++seen; };
  const uint64_t now = 5'000'000'000'000;
  auto batch = memset_batch(0, 2, now);
  const uint64_t far_end = UINT64_MAX;
  std::memcpy(batch.data() + sizeof(gt_gpu_batch) + offsetof(gt_gpu_memset_event, end_ns), &far_end, sizeof(far_end));
  EXPECT_TRUE(ingest.ingest_datagram(batch, 10, now, sink));
  EXPECT_EQ(seen, 1u);
  EXPECT_EQ(ingest.stats().records_misdated, 1u);
}

TEST(GpuIngest, RateLimitsEachProcessSeparately) {
  GpuIngest ingest(RateLimit{.records_per_second = 1000, .burst_records = 10, .max_processes = 8});
  auto sink = [](const Record&) {};
  EXPECT_TRUE(ingest.ingest_datagram(memset_batch(0, 8), 10, 0, sink));
  EXPECT_FALSE(ingest.ingest_datagram(memset_batch(1, 8), 10, 0, sink));  // 2 tokens left
  EXPECT_TRUE(ingest.ingest_datagram(memset_batch(0, 8), 11, 0, sink));   // another process
  EXPECT_TRUE(ingest.ingest_datagram(memset_batch(2, 8), 10, 10'000'000, sink));  // 10 ms: 10 more
  EXPECT_EQ(ingest.stats().rejected[static_cast<size_t>(BatchReject::RateLimited)], 1u);
}

TEST(PidRateLimiter, ForgetsTheLeastRecentProcessWhenFull) {
  PidRateLimiter limiter(RateLimit{.records_per_second = 1, .burst_records = 5, .max_processes = 2});
  EXPECT_TRUE(limiter.admit(1, 5, 0, 100));
  EXPECT_TRUE(limiter.admit(2, 5, 0, 200));
  EXPECT_TRUE(limiter.admit(3, 5, 0, 300));  // evicts pid 1
  EXPECT_EQ(limiter.tracked(), 2u);
  EXPECT_FALSE(limiter.admit(3, 1, 0, 300));
}

// Forking a process per batch gets a fresh bucket every time; the host's bucket still holds.
TEST(PidRateLimiter, BoundsAllProcessesTogether) {
  PidRateLimiter limiter(RateLimit{.records_per_second = 1000,
                                   .burst_records = 10,
                                   .host_records_per_second = 1000,
                                   .host_burst_records = 25,
                                   .max_processes = 64});
  EXPECT_TRUE(limiter.admit(1, 10, 0, 0));
  EXPECT_TRUE(limiter.admit(2, 10, 0, 0));
  EXPECT_FALSE(limiter.admit(3, 10, 0, 0));  // 5 host tokens left
  EXPECT_TRUE(limiter.admit(3, 5, 0, 0));
  EXPECT_TRUE(limiter.admit(4, 10, 0, 10'000'000));  // 10 ms: 10 more for the host
}

// A few records of long names cost their bytes, not their count.
TEST(PidRateLimiter, ChargesBytesWhenTheyCostMore) {
  PidRateLimiter limiter(RateLimit{.records_per_second = 1, .burst_records = 20, .max_processes = 4});
  EXPECT_FALSE(limiter.admit(1, 2, 21 * PidRateLimiter::kBytesPerToken, 0));
  EXPECT_TRUE(limiter.admit(1, 2, 20 * PidRateLimiter::kBytesPerToken, 0));
  EXPECT_FALSE(limiter.admit(1, 1, 0, 0));
}

}  // namespace
}  // namespace gputrace
