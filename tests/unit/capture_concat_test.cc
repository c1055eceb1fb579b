// `cat a.gtrace b.gtrace > c.gtrace`: the report covers a and says where b starts, instead of
// calling the whole file corrupt (it reported nothing of a).
#include "userspace/capture/capture.h"
#include "capture_test_support.h"

#include <gtest/gtest.h>

namespace gputrace::capture_testing {
namespace {

TEST_F(Capture, ConcatenatedCapturesReadToTheSecondFileHeaderWithANote) {
  const auto first = SampleRecords(1).take(300), second = SampleRecords(2).take(200);
  write_capture(path("a.gtrace"), first, 100);
  write_capture(path("b.gtrace"), second, 100);
  Bytes joined = read_file(path("a.gtrace"));
  const Bytes b = read_file(path("b.gtrace"));
  joined.insert(joined.end(), b.begin(), b.end());
  auto reader = CaptureReader::open_bytes(joined, "c.gtrace");
  ASSERT_TRUE(reader) << reader.error().describe();
  auto back = read_back(**reader);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->records, concat(first));
  EXPECT_TRUE(back->summary.truncated);
  EXPECT_NE(back->summary.truncation_note.find("another capture's file header"), std::string::npos)
      << back->summary.truncation_note;
}

}  // namespace
}  // namespace gputrace::capture_testing
