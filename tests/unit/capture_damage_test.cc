// Captures cut short or damaged: what the reader accepts, and how it says what is wrong.
#include "userspace/capture/capture.h"
#include "userspace/capture/format.h"
#include "userspace/capture/zlib_stream.h"
#include "capture_test_support.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

namespace gputrace::capture_testing {
namespace {

using capture::ChunkHeader;

class CaptureDamage : public Capture {};

ChunkHeader chunk_header_at(const Bytes& file, uint64_t offset) {
  ChunkHeader h{};
  std::memcpy(&h, file.data() + offset, sizeof(h));
  return h;
}

uint32_t crc_of(const void* p, size_t n) {
  return static_cast<uint32_t>(crc32(0, static_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

// Replaces the chunk at offset with one whose checksums are right but whose contents are
// whatever the test says, so the checks behind the checksums get exercised.
void replace_chunk(Bytes& file, uint64_t offset, const Bytes& compressed, uint32_t raw_length,
                   uint32_t record_count) {
  const ChunkHeader old = chunk_header_at(file, offset);
  ChunkHeader h{capture::kChunkMagic, static_cast<uint32_t>(compressed.size()), raw_length, record_count,
                crc_of(compressed.data(), compressed.size()), 0};
  h.header_crc32 = crc_of(&h, offsetof(ChunkHeader, header_crc32));
  Bytes framed(sizeof(h));
  std::memcpy(framed.data(), &h, sizeof(h));
  framed.insert(framed.end(), compressed.begin(), compressed.end());
  const auto begin = file.begin() + static_cast<ptrdiff_t>(offset);
  file.erase(begin, begin + static_cast<ptrdiff_t>(sizeof(ChunkHeader) + old.compressed_length));
  file.insert(file.begin() + static_cast<ptrdiff_t>(offset), framed.begin(), framed.end());
}

Bytes deflate_bytes(const Bytes& raw) {
  Bytes out;
  capture::Deflater deflater;
  EXPECT_TRUE(deflater.compress(raw, out, 0));
  return out;
}

// Puts raw (wire records, valid or not) in place of chunk index, framed correctly.
void replace_chunk_records(Bytes& file, const Layout& layout, size_t index, const Bytes& raw, uint32_t count) {
  replace_chunk(file, layout.chunk_start(index), deflate_bytes(raw), static_cast<uint32_t>(raw.size()), count);
}

std::string whole_chunks_phrase(size_t whole) {
  if (whole == 0) return "no whole chunk came before it";
  if (whole == 1) return "the 1 whole chunk before it was read";
  return fmt::format("the {} whole chunks before it were read", whole);
}

TEST_F(CaptureDamage, ACutAtEveryByteReadsUpToTheLastWholeChunk) {
  const SmallCapture c = small_capture();
  const Layout& layout = c.layout;
  ASSERT_EQ(layout.chunk_ends.size(), 4u);
  for (size_t cut = 0; cut <= c.file.size(); ++cut) {
    SCOPED_TRACE(fmt::format("file cut to {} of {} bytes", cut, c.file.size()));
    const Bytes file(c.file.begin(), c.file.begin() + static_cast<ptrdiff_t>(cut));
    auto back = read_back_bytes(file);
    if (cut < layout.header_end) {
      ASSERT_FALSE(back);
      EXPECT_TRUE(mentions(back.error(), cut == 0 ? "is empty" : "ends inside its file header"));
      continue;
    }
    ASSERT_TRUE(back) << back.error().describe();
    const size_t whole = std::count_if(layout.chunk_ends.begin(), layout.chunk_ends.end(),
                                       [&](uint64_t end) { return end <= cut; });
    EXPECT_EQ(back->summary.chunks, whole);
    EXPECT_EQ(back->summary.records, whole * c.records_per_chunk);
    EXPECT_EQ(back->records, c.first_chunks_records(whole));
    const bool at_boundary = cut == layout.chunk_start(whole);
    EXPECT_EQ(back->summary.truncated, !at_boundary);
    if (!at_boundary) {
      EXPECT_EQ(back->summary.truncation_note,
                fmt::format("capture ends inside chunk {} at byte {} (the recorder was probably killed): {}", whole + 1,
                            layout.chunk_start(whole), whole_chunks_phrase(whole)));
    }
  }
}

TEST_F(CaptureDamage, AFileCutInsideAChunkBodyOnDiskReadsItsWholeChunks) {
  const SmallCapture c = small_capture();
  const uint64_t third = c.layout.chunk_start(2);
  ASSERT_EQ(truncate(c.path.c_str(), static_cast<off_t>(third + sizeof(ChunkHeader) + 5)), 0);
  auto reader = CaptureReader::open(c.path);
  ASSERT_TRUE(reader) << reader.error().describe();
  auto back = read_back(**reader);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_TRUE(back->summary.truncated);
  EXPECT_EQ(back->summary.truncation_note,
            fmt::format("capture ends inside chunk 3 at byte {} (the recorder was probably killed): the 2 whole chunks "
                        "before it were read",
                        third));
  EXPECT_EQ(back->records, c.first_chunks_records(2));
  EXPECT_EQ(back->summary.records, 40u);
}

TEST_F(CaptureDamage, AZeroFilledTailIsACutNotCorruption) {
  SmallCapture c = small_capture();
  c.file.resize(c.file.size() + 4096);
  auto back = read_back_bytes(c.file);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->summary.records, 80u);
  EXPECT_TRUE(back->summary.truncated);
  EXPECT_NE(back->summary.truncation_note.find("zero bytes where chunk 5"), std::string::npos)
      << back->summary.truncation_note;
}

TEST_F(CaptureDamage, ZerosInTheMiddleOfACaptureAreCorruption) {
  SmallCapture c = small_capture();
  const uint64_t second = c.layout.chunk_start(1);
  std::fill(c.file.begin() + static_cast<ptrdiff_t>(second), c.file.begin() + static_cast<ptrdiff_t>(c.layout.chunk_ends[1]),
            std::byte{0});
  auto back = read_back_bytes(c.file);
  ASSERT_FALSE(back);
  EXPECT_TRUE(mentions(back.error(), fmt::format("chunk 2 at byte {} is corrupt: its header is all zeros", second)));
}

TEST_F(CaptureDamage, ADamagedChunkBodyFailsItsChecksumNamingChunkAndOffset) {
  SmallCapture c = small_capture();
  c.file[c.layout.chunk_ends[1] - 1] ^= std::byte{0x01};  // last compressed byte of chunk 2
  size_t delivered = 0;
  auto reader = CaptureReader::open_bytes(c.file, "damaged.gtrace");
  ASSERT_TRUE(reader);
  auto summary = (*reader)->for_each([&](const Record&) { ++delivered; });
  ASSERT_FALSE(summary);
  EXPECT_TRUE(mentions(summary.error(), fmt::format("damaged.gtrace: chunk 2 at byte {} is corrupt", c.layout.chunk_ends[0])));
  EXPECT_TRUE(mentions(summary.error(), "data checksum"));
  EXPECT_EQ(delivered, 20u);  // chunk 1 was fine
}

TEST_F(CaptureDamage, ADamagedChunkHeaderFailsItsChecksum) {
  SmallCapture c = small_capture();
  const uint64_t third = c.layout.chunk_start(2);
  c.file[third + offsetof(ChunkHeader, compressed_length) + 3] = std::byte{0x7f};  // length now ~2 GB
  auto back = read_back_bytes(c.file);
  ASSERT_FALSE(back);
  EXPECT_TRUE(mentions(back.error(), fmt::format("chunk 3 at byte {} is corrupt", third)));
  EXPECT_TRUE(mentions(back.error(), "header checksum"));
}

TEST_F(CaptureDamage, GarbageWhereAChunkShouldStartIsCorrupt) {
  SmallCapture c = small_capture();
  c.file[c.layout.chunk_start(1)] = std::byte{'X'};
  auto back = read_back_bytes(c.file);
  ASSERT_FALSE(back);
  EXPECT_TRUE(mentions(back.error(), "chunk 2"));
  EXPECT_TRUE(mentions(back.error(), "no chunk magic"));
}

TEST_F(CaptureDamage, BadCompressedDataBehindAValidChecksumIsCorrupt) {
  SmallCapture c = small_capture();
  replace_chunk(c.file, c.layout.chunk_start(1), Bytes(100, std::byte{0xff}), 1000, 10);  // block type 3: reserved
  auto back = read_back_bytes(c.file);
  ASSERT_FALSE(back);
  EXPECT_TRUE(mentions(back.error(), fmt::format("chunk 2 at byte {} is corrupt: bad compressed data", c.layout.chunk_ends[0])));
}

TEST_F(CaptureDamage, DataThatInflatesToAnotherLengthThanTheHeaderSaysIsCorrupt) {
  SmallCapture c = small_capture();
  const Bytes raw = concat(SampleRecords(5).take(3));
  const Bytes compressed = deflate_bytes(raw);
  replace_chunk(c.file, c.layout.chunk_start(0), compressed, static_cast<uint32_t>(raw.size() + 8), 3);
  auto longer = read_back_bytes(c.file);
  ASSERT_FALSE(longer);
  EXPECT_TRUE(mentions(longer.error(), "chunk 1"));
  EXPECT_TRUE(mentions(longer.error(), "decompresses to"));

  replace_chunk(c.file, c.layout.chunk_start(0), compressed, static_cast<uint32_t>(raw.size() - 8), 3);
  auto shorter = read_back_bytes(c.file);
  ASSERT_FALSE(shorter);
  EXPECT_TRUE(mentions(shorter.error(), "decompresses to more than"));
}

TEST_F(CaptureDamage, ARecordThatDoesNotDecodeInsideAValidChunkIsCorrupt) {
  SmallCapture c = small_capture();
  auto records = SampleRecords(5).take(4);
  reinterpret_cast<gt_event_header*>(records[2].data())->kind = 77;
  replace_chunk_records(c.file, c.layout, 3, concat(records), 4);
  auto back = read_back_bytes(c.file);
  ASSERT_FALSE(back);
  EXPECT_TRUE(mentions(back.error(), fmt::format("chunk 4 at byte {} is corrupt: record 3", c.layout.chunk_start(3))));
  EXPECT_TRUE(mentions(back.error(), "unknown record kind"));
}

TEST_F(CaptureDamage, RecordsThatDoNotExactlyFillTheirChunkAreCorrupt) {
  SmallCapture c = small_capture();
  Bytes raw = concat(SampleRecords(5).take(2));
  raw.resize(raw.size() + 8);  // half a header after the last record
  replace_chunk_records(c.file, c.layout, 0, raw, 2);
  auto back = read_back_bytes(c.file);
  ASSERT_FALSE(back);
  EXPECT_TRUE(mentions(back.error(), "record 3"));
  EXPECT_TRUE(mentions(back.error(), "record truncated"));
}

TEST_F(CaptureDamage, ARecordCountThatDisagreesWithTheRecordsIsCorrupt) {
  SmallCapture c = small_capture();
  replace_chunk_records(c.file, c.layout, 1, concat(SampleRecords(5).take(3)), 4);
  auto back = read_back_bytes(c.file);
  ASSERT_FALSE(back);
  EXPECT_TRUE(mentions(back.error(), "holds 3 records, its header says 4"));
}

TEST_F(CaptureDamage, ImpossibleChunkLengthsAreRefusedBeforeAllocating) {
  SmallCapture c = small_capture();
  // 64 MiB + 1 raw bytes: over the limit, whatever the data.
  replace_chunk(c.file, c.layout.chunk_start(0), Bytes(70000, std::byte{0}), capture::kMaxChunkRawLength + 1, 1);
  auto too_big = read_back_bytes(c.file);
  ASSERT_FALSE(too_big);
  EXPECT_TRUE(mentions(too_big.error(), "raw length 67108865 is outside"));

  // 10 compressed bytes cannot hold 1 MiB: a tiny file must not cost a big allocation.
  replace_chunk(c.file, c.layout.chunk_start(0), Bytes(10, std::byte{0}), 1 << 20, 1);
  auto impossible = read_back_bytes(c.file);
  ASSERT_FALSE(impossible);
  EXPECT_TRUE(mentions(impossible.error(), "cannot come from 10 compressed bytes"));
}

TEST_F(CaptureDamage, AFileThatIsNotACaptureSaysSo) {
  for (const std::string& text : {std::string("hello, this is a text file\n"), std::string("GTX"),
                                  std::string("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x03\0>\0", 20)}) {
    const Bytes file(reinterpret_cast<const std::byte*>(text.data()),
                     reinterpret_cast<const std::byte*>(text.data() + text.size()));
    auto reader = CaptureReader::open_bytes(file, "x.gtrace");
    ASSERT_FALSE(reader) << text;
    EXPECT_TRUE(mentions(reader.error(), "x.gtrace is not a gputrace capture"));
  }
}

TEST_F(CaptureDamage, AFutureFormatVersionAsksForANewerGputrace) {
  SmallCapture c = small_capture();
  const uint32_t future = 2;
  std::memcpy(c.file.data() + offsetof(capture::FileHeaderPrefix, format_version), &future, sizeof(future));
  write_file(path("future.gtrace"), c.file);
  auto reader = CaptureReader::open(path("future.gtrace"));
  ASSERT_FALSE(reader);
  EXPECT_TRUE(mentions(reader.error(), "written by a newer gputrace, format 2; this build reads up to 1"));
}

TEST_F(CaptureDamage, HeaderLengthsAreBounded) {
  SmallCapture c = small_capture();
  const uint32_t huge = 0xffffffff;
  std::memcpy(c.file.data() + offsetof(capture::FileHeaderPrefix, header_length), &huge, sizeof(huge));
  auto reader = CaptureReader::open_bytes(c.file, "huge.gtrace");
  ASSERT_FALSE(reader);
  EXPECT_TRUE(mentions(reader.error(), "file header claims 4294967295 bytes"));

  // A host string whose length runs past the header.
  c = small_capture();
  const uint32_t long_name = 60000;
  std::memcpy(c.file.data() + sizeof(capture::FileHeaderPrefix) + 16, &long_name, sizeof(long_name));
  reader = CaptureReader::open_bytes(c.file, "long.gtrace");
  ASSERT_FALSE(reader);
  EXPECT_TRUE(mentions(reader.error(), "host facts do not fit"));

  // A header of just the prefix: no host facts at all (found by the fuzzer).
  c = small_capture();
  const uint32_t prefix_only = sizeof(capture::FileHeaderPrefix);
  std::memcpy(c.file.data() + offsetof(capture::FileHeaderPrefix, header_length), &prefix_only, sizeof(prefix_only));
  reader = CaptureReader::open_bytes(c.file, "bare.gtrace");
  ASSERT_FALSE(reader);
  EXPECT_TRUE(mentions(reader.error(), "host facts do not fit"));
}

TEST_F(CaptureDamage, HeaderFieldsAppendedByALaterVersionAreSkipped) {
  SmallCapture c = small_capture();
  const Bytes appended(40, std::byte{0xab});
  c.file.insert(c.file.begin() + static_cast<ptrdiff_t>(c.layout.header_end), appended.begin(), appended.end());
  const auto length = static_cast<uint32_t>(c.layout.header_end + appended.size());
  std::memcpy(c.file.data() + offsetof(capture::FileHeaderPrefix, header_length), &length, sizeof(length));
  auto back = read_back_bytes(c.file);
  ASSERT_TRUE(back) << back.error().describe();
  EXPECT_EQ(back->records, c.records);
  EXPECT_FALSE(back->summary.truncated);
}

TEST_F(CaptureDamage, HostStringsCannotCarryTerminalEscapes) {
  CaptureHostInfo host = sample_host();
  host.hostname = "\x1b[2Jevil\nhost";
  auto writer = CaptureWriter::create(path("escape.gtrace"), host);
  ASSERT_TRUE(writer && (*writer)->close());
  auto reader = CaptureReader::open(path("escape.gtrace"));
  ASSERT_TRUE(reader);
  EXPECT_EQ((*reader)->host().hostname, "?[2Jevil?host");
}

TEST_F(CaptureDamage, OnlyRegularFilesAreRead) {
  auto dir = CaptureReader::open(dir_);
  ASSERT_FALSE(dir);
  EXPECT_TRUE(mentions(dir.error(), "not a regular file"));
  auto missing = CaptureReader::open(path("missing.gtrace"));
  ASSERT_FALSE(missing);
  EXPECT_TRUE(mentions(missing.error(), "cannot open capture"));
  EXPECT_EQ(missing.error().errnum, ENOENT);
}

}  // namespace
}  // namespace gputrace::capture_testing
