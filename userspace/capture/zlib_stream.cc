#include "userspace/capture/zlib_stream.h"

#include <libdeflate.h>

namespace gputrace::capture {
namespace {

// Level 1: the recorder compresses up to ~100 MB/s of records on one core; higher levels
// cost several times the CPU for a few percent of size.
constexpr int kCompressionLevel = Z_BEST_SPEED;
// Raw DEFLATE (negative window bits: no zlib wrapper). The chunk header's crc32 already
// guards the bytes; the wrapper's adler32 over the inflated data cost 12% of read time.
constexpr int kRawDeflateWindowBits = -15;
constexpr int kMemLevel = 8;  // zlib's default

Bytef* as_zlib(const std::byte* p) { return reinterpret_cast<Bytef*>(const_cast<std::byte*>(p)); }

const char* zlib_message(const z_stream& s, int rc) { return s.msg != nullptr ? s.msg : zError(rc); }

}  // namespace

uint32_t crc32_of(std::span<const std::byte> bytes) {
  // zlib's CRC-32 (the gzip polynomial), computed with carry-less multiplication where the CPU has it
  return libdeflate_crc32(0, bytes.data(), bytes.size());
}

Deflater::Deflater() {
  ready_ = deflateInit2(&stream_, kCompressionLevel, Z_DEFLATED, kRawDeflateWindowBits, kMemLevel,
                        Z_DEFAULT_STRATEGY) == Z_OK;
}
Deflater::~Deflater() {
  if (ready_) deflateEnd(&stream_);
}

Result<void> Deflater::compress(std::span<const std::byte> raw, std::vector<std::byte>& out, size_t keep) {
  if (!ready_) return fail("zlib could not set up a compression stream (out of memory)");
  deflateReset(&stream_);
  const size_t bound = deflateBound(&stream_, raw.size());
  out.resize(keep + bound);
  stream_.next_in = as_zlib(raw.data());
  stream_.avail_in = static_cast<uInt>(raw.size());
  stream_.next_out = as_zlib(out.data() + keep);
  stream_.avail_out = static_cast<uInt>(bound);
  const int rc = deflate(&stream_, Z_FINISH);
  if (rc != Z_STREAM_END) return fail("zlib compression failed: {}", zlib_message(stream_, rc));
  out.resize(keep + stream_.total_out);
  return {};
}

Inflater::Inflater() : state_(libdeflate_alloc_decompressor()) {}
Inflater::~Inflater() { libdeflate_free_decompressor(state_); }

Result<void> Inflater::decompress(std::span<const std::byte> compressed, std::span<std::byte> out) {
  if (!state_) return fail("could not set up a decompressor (out of memory)");
  size_t used = 0, produced = 0;
  switch (libdeflate_deflate_decompress_ex(state_, compressed.data(), compressed.size(), out.data(), out.size(),
                                           &used, &produced)) {
    case LIBDEFLATE_SUCCESS:
      if (used != compressed.size()) return fail("{} bytes follow the end of the compressed data", compressed.size() - used);
      if (produced != out.size())
        return fail("decompresses to {} bytes, the chunk header says {}", produced, out.size());
      return {};
    case LIBDEFLATE_INSUFFICIENT_SPACE:
      return fail("decompresses to more than the {} bytes the chunk header says", out.size());
    default:  // LIBDEFLATE_BAD_DATA: not DEFLATE, or cut short
      return fail("bad compressed data: not a complete DEFLATE stream");
  }
}

}  // namespace gputrace::capture
