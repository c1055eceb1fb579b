#include "userspace/capture/zlib_stream.h"

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
  // crc32_z takes a size_t length: no 4 GiB wrap for big spans.
  return static_cast<uint32_t>(crc32_z(0, as_zlib(bytes.data()), bytes.size()));
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

Inflater::Inflater() { ready_ = inflateInit2(&stream_, kRawDeflateWindowBits) == Z_OK; }
Inflater::~Inflater() {
  if (ready_) inflateEnd(&stream_);
}

Result<void> Inflater::decompress(std::span<const std::byte> compressed, std::span<std::byte> out) {
  if (!ready_) return fail("zlib could not set up a decompression stream (out of memory)");
  inflateReset(&stream_);
  stream_.next_in = as_zlib(compressed.data());
  stream_.avail_in = static_cast<uInt>(compressed.size());
  stream_.next_out = as_zlib(out.data());
  stream_.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&stream_, Z_FINISH);
  if (rc == Z_STREAM_END) {
    if (stream_.avail_in != 0) return fail("{} bytes follow the end of the compressed data", stream_.avail_in);
    if (stream_.avail_out != 0)
      return fail("decompresses to {} bytes, the chunk header says {}", stream_.total_out, out.size());
    return {};
  }
  // Z_BUF_ERROR with no room left: the data goes on past the promised raw length.
  if (rc == Z_BUF_ERROR && stream_.avail_out == 0)
    return fail("decompresses to more than the {} bytes the chunk header says", out.size());
  if (rc == Z_BUF_ERROR) return fail("compressed data ends early");
  return fail("bad compressed data: {}", zlib_message(stream_, rc));
}

}  // namespace gputrace::capture
