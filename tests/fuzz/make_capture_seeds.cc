// Writes the capture fuzzer's seed corpus into a directory: valid captures of several
// shapes, one cut short, and bare wire records for the decoder, so the fuzzer starts from
// inputs that reach past the header checks.
#include "userspace/capture/capture.h"
#include "capture_records.h"

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

using namespace gputrace;
using capture_testing::Bytes;

Result<void> write_capture(const std::string& path, const std::vector<Bytes>& records, size_t chunk_records) {
  auto writer = CaptureWriter::create(path, capture_testing::sample_host());
  if (!writer) return tl::unexpected(writer.error());
  for (size_t i = 0; i < records.size(); ++i) {
    if (auto ok = (*writer)->append(capture_testing::record_of(records[i])); !ok) return ok;
    if ((i + 1) % chunk_records == 0) {
      if (auto ok = (*writer)->flush(); !ok) return ok;
    }
  }
  return (*writer)->close();
}

void write_bytes(const std::string& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

Result<void> make_seeds(const std::string& dir) {
  capture_testing::SampleRecords samples(5);
  const auto one_of_each = samples.take(9);
  if (auto ok = write_capture(dir + "/one-chunk.gtrace", one_of_each, 9); !ok) return ok;
  if (auto ok = write_capture(dir + "/three-chunks.gtrace", samples.take(45), 15); !ok) return ok;
  if (auto ok = write_capture(dir + "/header-only.gtrace", {}, 1); !ok) return ok;

  // The same three chunks, cut inside the last one: the reader's truncation path.
  const std::string whole = dir + "/three-chunks.gtrace";
  std::filesystem::copy_file(whole, dir + "/cut-short.gtrace");
  std::filesystem::resize_file(dir + "/cut-short.gtrace", std::filesystem::file_size(whole) - 17);

  Bytes records;
  for (const Bytes& r : one_of_each) records.insert(records.end(), r.begin(), r.end());
  write_bytes(dir + "/wire-records.bin", records);
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: {} DIR\n", argv[0]);
    return 2;
  }
  if (auto ok = make_seeds(argv[1]); !ok) {
    fmt::print(stderr, "make_capture_seeds: {}\n", ok.error().describe());
    return 1;
  }
  return 0;
}
