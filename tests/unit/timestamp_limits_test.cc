// Timestamps near 2^64 (a crafted or damaged capture): the decoder refuses them, so no
// capture can carry one, and the growth detector's schedule saturates instead of wrapping
// around into an endless loop (which made `daemon --replay` ignore SIGTERM).
#include "record_builder.h"
#include "userspace/capture/capture.h"
#include "userspace/pipeline/pipeline.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <thread>

namespace gputrace {
namespace {

using test::kMs;
using test::TraceBuilder;

// The bytes of TraceBuilder's only record, restamped at ts (which decode_one would refuse).
std::vector<std::byte> restamped(const TraceBuilder& t, uint64_t ts) {
  const Record r = t.records().back();
  std::vector<std::byte> bytes(r.bytes.begin(), r.bytes.end());
  std::memcpy(bytes.data() + offsetof(gt_event_header, ts_ns), &ts, sizeof(ts));
  return bytes;
}

TEST(TimestampLimits, DecoderRefusesARecordStampedPast2To62) {
  TraceBuilder t;
  t.map(10 * kMs, 0xffff1, 0x1000, 4096);
  Record out;
  EXPECT_EQ(decode_one(restamped(t, UINT64_MAX), out), DecodeError::BadTimestamp);
  EXPECT_EQ(decode_one(restamped(t, kMaxTimestampNs + 1), out), DecodeError::BadTimestamp);
  EXPECT_EQ(decode_one(restamped(t, kMaxTimestampNs), out), DecodeError::None);
}

TEST(TimestampLimits, CaptureWriterRefusesIt) {
  TraceBuilder t;
  t.map(10 * kMs, 0xffff1, 0x1000, 4096);
  const auto bytes = restamped(t, UINT64_MAX);
  const std::string path = std::filesystem::temp_directory_path() / fmt::format("gputrace-ts-{}.gtrace", ::getpid());
  auto w = CaptureWriter::create(path, {});
  ASSERT_TRUE(w);
  Record r;
  std::memcpy(&r.header, bytes.data(), sizeof(r.header));
  r.bytes = bytes;
  auto appended = (*w)->append(r);
  ASSERT_FALSE(appended);
  EXPECT_NE(appended.error().describe().find("timestamp"), std::string::npos) << appended.error().describe();
  std::filesystem::remove(path);
}

// Straight into the pipeline, past the decoder: the analyzers themselves must not hang.
TEST(TimestampLimits, PipelineGivenARecordAt2To64Minus1Finishes) {
  TraceBuilder t;
  t.device(1 * kMs, 0xffff1, "0000:05:00.0");
  t.map(10 * kMs, 0xffff1, 0x1000, 4096);
  TraceBuilder late;
  late.map(20 * kMs, 0xffff1, 0x2000, 4096);
  auto bytes = std::make_shared<std::vector<std::byte>>(restamped(late, UINT64_MAX));
  auto done = std::make_shared<std::atomic<bool>>(false);
  std::thread run([t, bytes, done] {
    Pipeline p;
    t.feed(p, false);
    Record r;
    std::memcpy(&r.header, bytes->data(), sizeof(r.header));
    r.bytes = *bytes;
    p.push(r);
    p.finish();
    (void)p.snapshot();
    *done = true;
  });
  for (int i = 0; i < 500 && !*done; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (!*done) {
    run.detach();  // it would never end: fail rather than hang the tier
    FAIL() << "the pipeline did not finish within 10 s of a record stamped 2^64-1";
  }
  run.join();
}

}  // namespace
}  // namespace gputrace
