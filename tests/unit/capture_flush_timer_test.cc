// The capture writer's durability timer: records that wait reach the file within the flush
// interval, without close(), so a recorder killed with SIGKILL loses at most that interval.
#include "userspace/capture/capture.h"
#include "capture_test_support.h"

#include <gtest/gtest.h>

#include <chrono>

namespace gputrace::capture_testing {
namespace {

using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

uint64_t records_on_disk(const std::string& file) {
  auto reader = CaptureReader::open(file);
  if (!reader) return ~0ull;
  auto back = read_back(**reader);
  return back ? back->summary.records : ~0ull;
}

TEST_F(Capture, FlushIfDueWritesWaitingRecordsOnceTheyAreOlderThanTheInterval) {
  const auto records = SampleRecords().take(4);
  const std::string file = path("timer.gtrace");
  auto writer = CaptureWriter::create(file, sample_host());
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->append(record_of(records[0])));
  ASSERT_TRUE((*writer)->append(record_of(records[1])));
  ASSERT_TRUE((*writer)->flush_if_due(Clock::now(), seconds(1)));  // not yet due: stays buffered
  EXPECT_EQ(records_on_disk(file), 0u);
  ASSERT_TRUE((*writer)->flush_if_due(Clock::now() + seconds(1), seconds(1)));
  EXPECT_EQ((*writer)->records_written(), 2u);
  EXPECT_EQ(records_on_disk(file), 2u);  // readable while the writer is still open

  // The next records start a new wait: the interval counts from the oldest one buffered.
  ASSERT_TRUE((*writer)->append(record_of(records[2])));
  ASSERT_TRUE((*writer)->flush_if_due(Clock::now(), seconds(1)));
  EXPECT_EQ(records_on_disk(file), 2u);
  ASSERT_TRUE((*writer)->flush_if_due(Clock::now() + seconds(2), seconds(1)));
  EXPECT_EQ(records_on_disk(file), 3u);
  ASSERT_TRUE((*writer)->flush_if_due(Clock::now() + seconds(3), seconds(1)));  // nothing pending
  EXPECT_EQ((*writer)->records_written(), 3u);
  ASSERT_TRUE((*writer)->append(record_of(records[3])));
  ASSERT_TRUE((*writer)->close());
  EXPECT_EQ(records_on_disk(file), 4u);
}

TEST_F(Capture, FlushIfDueFailsAfterCloseLikeEveryOtherCall) {
  auto writer = CaptureWriter::create(path("closed.gtrace"), sample_host());
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->close());
  auto r = (*writer)->flush_if_due(Clock::now(), seconds(1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().describe().find("already closed"), std::string::npos);
}

}  // namespace
}  // namespace gputrace::capture_testing
