// CaptureReader: validates a capture's header, then each chunk's framing, checksum,
// compression and records before handing the records on.
#include "userspace/capture/byte_source.h"
#include "userspace/capture/capture.h"
#include "userspace/capture/file_header.h"
#include "userspace/capture/format.h"
#include "userspace/capture/zlib_stream.h"
#include "userspace/decode/decoder.h"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>
#include <vector>

namespace gputrace {
namespace {

using namespace capture;

// Where a chunk starts, for messages: its 1-based number and its file offset.
struct ChunkPlace {
  uint64_t number = 0;
  uint64_t offset = 0;
};

std::string whole_chunks_before(uint64_t number) {
  const uint64_t whole = number - 1;
  if (whole == 0) return "no whole chunk came before it";
  if (whole == 1) return "the 1 whole chunk before it was read";
  return fmt::format("the {} whole chunks before it were read", whole);
}

void note_truncation(const ChunkPlace& place, CaptureReadSummary& summary) {
  summary.truncated = true;
  summary.truncation_note =
      fmt::format("capture ends inside chunk {} at byte {} (the recorder was probably killed): {}", place.number,
                  place.offset, whole_chunks_before(place.number));
}

// A filesystem that lost power can leave the file's length ahead of its data, which then
// reads as zeros: that is a cut-short capture too, not a corrupt one.
void note_zero_filled_tail(const ChunkPlace& place, CaptureReadSummary& summary) {
  summary.truncated = true;
  summary.truncation_note = fmt::format(
      "capture holds only zero bytes where chunk {} should start at byte {} (the host probably crashed before the "
      "data reached the disk): {}",
      place.number, place.offset, whole_chunks_before(place.number));
}

// `cat a.gtrace b.gtrace > c.gtrace`: b's file header stands where a chunk should. Reading
// stops there with a note, so the report covers a rather than failing on "corrupt".
void note_second_capture(const ChunkPlace& place, CaptureReadSummary& summary) {
  summary.truncated = true;
  summary.truncation_note = fmt::format(
      "another capture's file header starts at byte {} (captures concatenated?): this covers the first one only, "
      "{}; report the other file separately",
      place.offset, whole_chunks_before(place.number));
}

bool starts_a_capture(const ChunkHeader& h) {
  return std::memcmp(&h, kFileMagic.data(), kFileMagic.size()) == 0;
}

bool all_zero(const ChunkHeader& h) {
  static constexpr std::array<std::byte, sizeof(ChunkHeader)> kZeros{};
  return std::memcmp(&h, kZeros.data(), sizeof(h)) == 0;
}

// Why a fully present chunk header cannot be believed, or nullopt when it can.
std::optional<std::string> chunk_header_problem(const ChunkHeader& h) {
  if (h.magic != kChunkMagic) return "there is no chunk magic where the chunk should start";
  const uint32_t header_crc = crc32_of(std::as_bytes(std::span(&h, 1)).first(offsetof(ChunkHeader, header_crc32)));
  if (header_crc != h.header_crc32)
    return fmt::format("its header checksum is 0x{:08x}, the header's bytes give 0x{:08x}", h.header_crc32, header_crc);
  if (h.raw_length == 0 || h.raw_length > kMaxChunkRawLength)
    return fmt::format("its raw length {} is outside 1..{}", h.raw_length, kMaxChunkRawLength);
  if (h.compressed_length == 0 || h.compressed_length > compressBound(h.raw_length))
    return fmt::format("its compressed length {} cannot come from {} raw bytes", h.compressed_length, h.raw_length);
  if (h.raw_length > uint64_t{h.compressed_length} * kMaxDeflateRatio)
    return fmt::format("its raw length {} cannot come from {} compressed bytes", h.raw_length, h.compressed_length);
  if (h.record_count == 0 || h.record_count > h.raw_length / sizeof(gt_event_header))
    return fmt::format("its record count {} cannot fit in {} raw bytes", h.record_count, h.raw_length);
  return std::nullopt;
}

// Reads a capture file held by a ByteSource.
class CaptureFileReader final : public CaptureReader {
 public:
  CaptureFileReader(std::unique_ptr<ByteSource> source, std::string name, CaptureHostInfo host, uint32_t version,
                    uint64_t first_chunk_offset)
      : source_(std::move(source)), name_(std::move(name)), host_(std::move(host)), version_(version),
        first_chunk_offset_(first_chunk_offset) {}

  const CaptureHostInfo& host() const override { return host_; }
  uint32_t format_version() const override { return version_; }

  Result<CaptureReadSummary> for_each(const std::function<void(const Record&)>& on_record) override {
    auto end = source_->size();
    if (!end) return tl::unexpected(end.error());
    CaptureReadSummary summary;
    for (uint64_t offset = first_chunk_offset_; offset < *end;) {
      const ChunkPlace place{summary.chunks + 1, offset};
      auto header = read_chunk_header(place, *end, summary);
      if (!header) return tl::unexpected(header.error());
      if (!*header) break;
      auto whole = read_chunk_body(place, **header, *end, summary);
      if (!whole) return tl::unexpected(whole.error());
      if (!*whole) break;
      if (auto ok = decode_chunk(place, **header, on_record); !ok) return tl::unexpected(ok.error());
      summary.records += (*header)->record_count;
      ++summary.chunks;
      offset += sizeof(ChunkHeader) + (*header)->compressed_length;
    }
    return summary;
  }

 private:
  template <class... Args>
  tl::unexpected<Error> corrupt(const ChunkPlace& place, fmt::format_string<Args...> f, Args&&... args) const {
    return fail("{}: chunk {} at byte {} is corrupt: {}", name_, place.number, place.offset,
                fmt::format(f, std::forward<Args>(args)...));
  }

  // The chunk header at place, or nullopt where the capture ends (noted in summary).
  Result<std::optional<ChunkHeader>> read_chunk_header(const ChunkPlace& place, uint64_t end,
                                                      CaptureReadSummary& summary) {
    ChunkHeader h{};
    auto bytes = std::as_writable_bytes(std::span(&h, 1));
    const size_t want = end - place.offset < bytes.size() ? end - place.offset : bytes.size();
    auto got = source_->read_at(place.offset, bytes.first(want));
    if (!got) return tl::unexpected(got.error());
    if (*got < bytes.size()) {
      note_truncation(place, summary);
      return std::nullopt;
    }
    if (all_zero(h)) {
      auto tail_is_zero = only_zeros_from(place.offset, end);
      if (!tail_is_zero) return tl::unexpected(tail_is_zero.error());
      if (!*tail_is_zero) return corrupt(place, "its header is all zeros, yet data follows it");
      note_zero_filled_tail(place, summary);
      return std::nullopt;
    }
    if (starts_a_capture(h)) {
      note_second_capture(place, summary);
      return std::nullopt;
    }
    if (auto problem = chunk_header_problem(h)) return corrupt(place, "{}", *problem);
    return h;
  }

  // Whether nothing but zeros lies between offset and end: a zero-filled tail, not zeros in
  // the middle of good data.
  Result<bool> only_zeros_from(uint64_t offset, uint64_t end) {
    std::vector<std::byte> block(64 * 1024);
    while (offset < end) {
      const size_t want = end - offset < block.size() ? end - offset : block.size();
      auto got = source_->read_at(offset, std::span(block).first(want));
      if (!got) return tl::unexpected(got.error());
      if (*got == 0) return true;  // the file shrank while we read it
      const auto read = std::span(block).first(*got);
      if (std::any_of(read.begin(), read.end(), [](std::byte b) { return b != std::byte{0}; })) return false;
      offset += *got;
    }
    return true;
  }

  // Reads the compressed bytes into compressed_; false where the capture ends inside them.
  Result<bool> read_chunk_body(const ChunkPlace& place, const ChunkHeader& h, uint64_t end,
                               CaptureReadSummary& summary) {
    const uint64_t body_offset = place.offset + sizeof(ChunkHeader);
    // Checked before allocating: a cut-short body never costs more memory than the file holds.
    if (end - body_offset < h.compressed_length) {
      note_truncation(place, summary);
      return false;
    }
    compressed_.resize(h.compressed_length);
    auto got = source_->read_at(body_offset, compressed_);
    if (!got) return tl::unexpected(got.error());
    if (*got < compressed_.size()) {  // the file shrank while we read it
      note_truncation(place, summary);
      return false;
    }
    return true;
  }

  Result<void> decode_chunk(const ChunkPlace& place, const ChunkHeader& h,
                            const std::function<void(const Record&)>& on_record) {
    const uint32_t data_crc = crc32_of(compressed_);
    if (data_crc != h.data_crc32)
      return corrupt(place, "its data checksum is 0x{:08x}, the data gives 0x{:08x}", h.data_crc32, data_crc);
    raw_.resize(h.raw_length);
    if (auto ok = inflater_.decompress(compressed_, raw_); !ok) return corrupt(place, "{}", ok.error().message);
    const StreamDecodeResult decoded = decode_stream(raw_, on_record);
    if (decoded.error != DecodeError::None)
      return corrupt(place, "record {} (byte {} of the decompressed chunk): {}", decoded.records + 1,
                     decoded.consumed, describe(decoded.error));
    if (decoded.records != h.record_count)
      return corrupt(place, "it holds {} records, its header says {}", decoded.records, h.record_count);
    return {};
  }

  std::unique_ptr<ByteSource> source_;
  std::string name_;
  CaptureHostInfo host_;
  uint32_t version_;
  uint64_t first_chunk_offset_;
  Inflater inflater_;
  std::vector<std::byte> compressed_;  // reused: one allocation per capture, not per chunk
  std::vector<std::byte> raw_;         // the Records handed out view this buffer
};

Result<std::unique_ptr<CaptureReader>> open_source(std::unique_ptr<ByteSource> source, const std::string& name) {
  std::array<std::byte, sizeof(FileHeaderPrefix)> prefix_bytes{};
  auto got = source->read_at(0, prefix_bytes);
  if (!got) return tl::unexpected(got.error());
  auto prefix = check_file_header_prefix(std::span(prefix_bytes).first(*got), name);
  if (!prefix) return tl::unexpected(prefix.error());

  std::vector<std::byte> body(prefix->header_length - sizeof(FileHeaderPrefix));
  got = source->read_at(sizeof(FileHeaderPrefix), body);
  if (!got) return tl::unexpected(got.error());
  if (*got < body.size())
    return fail("{} ends inside its file header after {} bytes: the capture holds no data", name,
                sizeof(FileHeaderPrefix) + *got);
  auto host = parse_host_facts(body, name);
  if (!host) return tl::unexpected(host.error());
  return std::make_unique<CaptureFileReader>(std::move(source), name, std::move(*host), prefix->format_version,
                                             prefix->header_length);
}

}  // namespace

Result<std::unique_ptr<CaptureReader>> CaptureReader::open(const std::string& path) {
  auto source = open_file_source(path);
  if (!source) return tl::unexpected(source.error());
  return open_source(std::move(*source), path);
}

Result<std::unique_ptr<CaptureReader>> CaptureReader::open_bytes(std::span<const std::byte> bytes,
                                                                 const std::string& name) {
  return open_source(memory_source(bytes), name);
}

}  // namespace gputrace
