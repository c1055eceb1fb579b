// Test support for the capture tests: a fixture with its own temp directory, capture
// writing and reading helpers, and an assertion on error messages.
#pragma once

#include "userspace/capture/capture.h"
#include "capture_records.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace gputrace::capture_testing {

// Error messages are for people: assert on the words that matter, not the whole sentence.
inline ::testing::AssertionResult mentions(const Error& error, std::string_view words) {
  if (error.message.find(words) != std::string::npos) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "\"" << error.message << "\" does not mention \"" << words << "\"";
}

inline Bytes concat(const std::vector<Bytes>& records) {
  Bytes out;
  for (const Bytes& r : records) out.insert(out.end(), r.begin(), r.end());
  return out;
}

inline Bytes read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

inline void write_file(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

// What a reader delivered: the records' bytes back to back, and the summary.
struct ReadBack {
  Bytes records;
  CaptureReadSummary summary;
};

inline Result<ReadBack> read_back(CaptureReader& reader) {
  ReadBack out;
  auto summary = reader.for_each(
      [&](const Record& r) { out.records.insert(out.records.end(), r.bytes.begin(), r.bytes.end()); });
  if (!summary) return tl::unexpected(summary.error());
  out.summary = *summary;
  return out;
}

inline Result<ReadBack> read_back_bytes(const Bytes& file) {
  auto reader = CaptureReader::open_bytes(file, "test.gtrace");
  if (!reader) return tl::unexpected(reader.error());
  return read_back(**reader);
}

// Where a capture's header and each of its chunks end, as file offsets.
struct Layout {
  uint64_t header_end = 0;
  std::vector<uint64_t> chunk_ends;
  uint64_t chunk_start(size_t index) const { return index == 0 ? header_end : chunk_ends[index - 1]; }
};

struct SmallCapture {
  std::string path;
  Bytes file;
  std::vector<Bytes> record_list;
  Bytes records;  // all of them, back to back
  Layout layout;
  size_t records_per_chunk = 20;

  Bytes first_chunks_records(size_t chunks) const {
    return concat({record_list.begin(), record_list.begin() + static_cast<ptrdiff_t>(chunks * records_per_chunk)});
  }
};

// Every test gets its own directory under /tmp, removed afterwards.
class Capture : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gputrace-capture-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr) << std::strerror(errno);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string path(const std::string& name) const { return dir_ + "/" + name; }

  // Writes records to a new capture, flushing after every chunk_records records (0: never),
  // and returns where its header and each chunk end.
  Layout write_capture(const std::string& file, const std::vector<Bytes>& records, size_t chunk_records = 0) {
    Layout layout;
    auto writer = CaptureWriter::create(file, sample_host());
    EXPECT_TRUE(writer) << writer.error().describe();
    if (!writer) return layout;
    layout.header_end = std::filesystem::file_size(file);
    for (size_t i = 0; i < records.size(); ++i) {
      auto ok = (*writer)->append(record_of(records[i]));
      EXPECT_TRUE(ok) << ok.error().describe();
      if (chunk_records != 0 && (i + 1) % chunk_records == 0) {
        EXPECT_TRUE((*writer)->flush());
        layout.chunk_ends.push_back(std::filesystem::file_size(file));
      }
    }
    auto closed = (*writer)->close();
    EXPECT_TRUE(closed) << closed.error().describe();
    return layout;
  }

  // 4 chunks of 20 records: small enough to cut at every byte.
  SmallCapture small_capture() {
    SmallCapture c;
    c.record_list = SampleRecords(11).take(80);
    c.records = concat(c.record_list);
    c.path = path(fmt::format("small-{}.gtrace", ++small_captures_));
    c.layout = write_capture(c.path, c.record_list, c.records_per_chunk);
    c.file = read_file(c.path);
    return c;
  }

  std::string dir_;
  int small_captures_ = 0;
};

}  // namespace gputrace::capture_testing
