#include "userspace/capture/capture.h"
#include "userspace/capture/host_info.h"
#include "capture_test_support.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace gputrace::capture_testing {
namespace {

TEST_F(Capture, RoundTripsManyRecordsOfEveryKindAcrossChunksByteForByte) {
  const auto records = SampleRecords(7).take(30000);
  const std::string file = path("round-trip.gtrace");
  auto writer = CaptureWriter::create(file, sample_host());
  ASSERT_TRUE(writer) << writer.error().describe();
  for (const Bytes& r : records) ASSERT_TRUE((*writer)->append(record_of(r)));
  ASSERT_TRUE((*writer)->close());
  EXPECT_EQ((*writer)->records_written(), records.size());

  auto reader = CaptureReader::open(file);
  ASSERT_TRUE(reader) << reader.error().describe();
  EXPECT_EQ((*reader)->format_version(), 1u);
  const CaptureHostInfo& host = (*reader)->host();
  EXPECT_EQ(host.hostname, "gpu-node-17");
  EXPECT_EQ(host.kernel_release, "6.12.38+deb13-amd64");
  EXPECT_EQ(host.boot_id, sample_host().boot_id);
  EXPECT_EQ(host.gputrace_version, "0.1.0");
  EXPECT_EQ(host.start_monotonic_ns, sample_host().start_monotonic_ns);
  EXPECT_EQ(host.start_realtime_ns, sample_host().start_realtime_ns);

  auto back = read_back(**reader);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->records, concat(records));
  EXPECT_EQ(back->summary.records, records.size());
  EXPECT_GE(back->summary.chunks, 5u);  // ~2.4 MB of records in 256 KiB chunks
  EXPECT_FALSE(back->summary.truncated);
  EXPECT_EQ(back->summary.truncation_note, "");
}

TEST_F(Capture, ReadsTheSameRecordsOnEveryPass) {
  const auto records = SampleRecords(3).take(500);
  write_capture(path("twice.gtrace"), records, 100);
  auto reader = CaptureReader::open(path("twice.gtrace"));
  ASSERT_TRUE(reader);
  auto first = read_back(**reader);
  auto second = read_back(**reader);
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->records, concat(records));
  EXPECT_EQ(second->records, first->records);
  EXPECT_EQ(second->summary.chunks, 5u);
}

TEST_F(Capture, FlushWritesAChunkAndRecordsWrittenCountsOnlyWrittenOnes) {
  const auto records = SampleRecords().take(5);
  auto writer = CaptureWriter::create(path("flush.gtrace"), sample_host());
  ASSERT_TRUE(writer);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*writer)->append(record_of(records[i])));
  EXPECT_EQ((*writer)->records_written(), 0u);
  ASSERT_TRUE((*writer)->flush());
  EXPECT_EQ((*writer)->records_written(), 3u);

  // A reader sees the flushed chunk while the recorder is still running.
  auto reader = CaptureReader::open(path("flush.gtrace"));
  ASSERT_TRUE(reader);
  auto live = read_back(**reader);
  ASSERT_TRUE(live);
  EXPECT_EQ(live->summary.records, 3u);

  for (int i = 3; i < 5; ++i) ASSERT_TRUE((*writer)->append(record_of(records[i])));
  ASSERT_TRUE((*writer)->close());
  auto done = read_back(**reader);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->summary.chunks, 2u);
  EXPECT_EQ(done->records, concat(records));
}

TEST_F(Capture, AHeaderOnlyCaptureHoldsNoRecordsAndIsNotTruncated) {
  write_capture(path("empty.gtrace"), {});
  auto reader = CaptureReader::open(path("empty.gtrace"));
  ASSERT_TRUE(reader) << reader.error().describe();
  auto back = read_back(**reader);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->summary.records, 0u);
  EXPECT_EQ(back->summary.chunks, 0u);
  EXPECT_FALSE(back->summary.truncated);
}

TEST_F(Capture, WritesTheFileOwnerOnly) {
  write_capture(path("mode.gtrace"), SampleRecords().take(3));
  struct stat st {};
  ASSERT_EQ(stat(path("mode.gtrace").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(Capture, RefusesToOverwriteAnExistingFile) {
  write_file(path("existing.gtrace"), Bytes(10, std::byte{0x42}));
  auto writer = CaptureWriter::create(path("existing.gtrace"), sample_host());
  ASSERT_FALSE(writer);
  EXPECT_TRUE(mentions(writer.error(), "already exists"));
  EXPECT_TRUE(mentions(writer.error(), "existing.gtrace"));
  EXPECT_EQ(read_file(path("existing.gtrace")), Bytes(10, std::byte{0x42}));
}

TEST_F(Capture, RefusesASymbolicLinkWhetherOrNotItsTargetExists) {
  ASSERT_EQ(symlink(path("absent-target").c_str(), path("dangling.gtrace").c_str()), 0);
  write_file(path("present-target"), Bytes(4, std::byte{1}));
  ASSERT_EQ(symlink(path("present-target").c_str(), path("link.gtrace").c_str()), 0);

  for (const char* name : {"dangling.gtrace", "link.gtrace"}) {
    auto writer = CaptureWriter::create(path(name), sample_host());
    ASSERT_FALSE(writer) << name;
    EXPECT_TRUE(mentions(writer.error(), "symbolic link")) << name;
  }
  EXPECT_FALSE(std::filesystem::exists(path("absent-target")));
  EXPECT_EQ(read_file(path("present-target")), Bytes(4, std::byte{1}));
}

TEST_F(Capture, RefusesARecordThatDoesNotDecode) {
  auto writer = CaptureWriter::create(path("bad-record.gtrace"), sample_host());
  ASSERT_TRUE(writer);
  Bytes record = SampleRecords().next();
  Record r = record_of(record);
  r.bytes = std::span<const std::byte>(record).first(record.size() - 8);  // header says more
  auto ok = (*writer)->append(r);
  ASSERT_FALSE(ok);
  EXPECT_TRUE(mentions(ok.error(), "refusing to write"));

  Bytes garbage(48, std::byte{0xee});
  r.bytes = garbage;
  ok = (*writer)->append(r);
  ASSERT_FALSE(ok);
  EXPECT_TRUE(mentions(ok.error(), "unknown record kind"));
  ASSERT_TRUE((*writer)->close());
  EXPECT_EQ((*writer)->records_written(), 0u);
}

TEST_F(Capture, RejectsUseAfterClose) {
  auto writer = CaptureWriter::create(path("closed.gtrace"), sample_host());
  ASSERT_TRUE(writer);
  ASSERT_TRUE((*writer)->close());
  auto ok = (*writer)->append(record_of(SampleRecords().next()));
  ASSERT_FALSE(ok);
  EXPECT_TRUE(mentions(ok.error(), "already closed"));
}

TEST_F(Capture, AWriterDestroyedWithoutCloseStillWritesItsRecords) {
  const auto records = SampleRecords().take(10);
  {
    auto writer = CaptureWriter::create(path("dropped.gtrace"), sample_host());
    ASSERT_TRUE(writer);
    for (const Bytes& r : records) ASSERT_TRUE((*writer)->append(record_of(r)));
  }
  auto reader = CaptureReader::open(path("dropped.gtrace"));
  ASSERT_TRUE(reader);
  auto back = read_back(**reader);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->records, concat(records));
}

TEST_F(Capture, HostInfoDescribesThisHost) {
  const CaptureHostInfo host = current_host_info();
  EXPECT_FALSE(host.hostname.empty());
  EXPECT_FALSE(host.kernel_release.empty());
  EXPECT_EQ(host.boot_id.size(), 36u) << host.boot_id;  // a UUID, newline stripped
  EXPECT_FALSE(host.gputrace_version.empty());
  EXPECT_GT(host.start_monotonic_ns, 0u);
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  const uint64_t now_ns = static_cast<uint64_t>(now.tv_sec) * 1'000'000'000u + now.tv_nsec;
  EXPECT_LE(host.start_realtime_ns, now_ns);
  EXPECT_GT(host.start_realtime_ns, now_ns - 60'000'000'000ull);
}

// A capture written by format version 1, checked in: every later build must still read it.
// GPUTRACE_REGENERATE_CAPTURE_FIXTURE=1 rewrites it (only when the sample records change).
TEST_F(Capture, ReadsTheCheckedInVersion1Fixture) {
  const std::string fixture = GPUTRACE_SOURCE_DIR "/tests/fixtures/capture/sample-v1.gtrace";
  const auto records = SampleRecords(42).take(300);
  if (std::getenv("GPUTRACE_REGENERATE_CAPTURE_FIXTURE") != nullptr) {
    std::filesystem::remove(fixture);
    write_capture(fixture, records, 100);
  }
  auto reader = CaptureReader::open(fixture);
  ASSERT_TRUE(reader) << reader.error().describe();
  EXPECT_EQ((*reader)->format_version(), 1u);
  EXPECT_EQ((*reader)->host().hostname, sample_host().hostname);
  EXPECT_EQ((*reader)->host().boot_id, sample_host().boot_id);
  auto back = read_back(**reader);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->summary.chunks, 3u);
  EXPECT_FALSE(back->summary.truncated);
  EXPECT_EQ(back->records, concat(records));
}

}  // namespace
}  // namespace gputrace::capture_testing
