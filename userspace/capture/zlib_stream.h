// Deflater / Inflater: one compression state each, reset per chunk instead of reallocated, so
// a capture with thousands of chunks costs one state, not thousands. Writing uses zlib;
// reading uses libdeflate, which decompresses a whole buffer at once (the chunk header gives
// its size) about three times faster than zlib's streaming inflate: decompression was half
// of `gputrace report`'s time. Both speak raw DEFLATE (RFC 1951).
#pragma once

#include "userspace/util/result.h"

#include <zlib.h>

struct libdeflate_decompressor;

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace gputrace::capture {

uint32_t crc32_of(std::span<const std::byte> bytes);

// Compresses whole chunks into raw DEFLATE streams (RFC 1951).
class Deflater {
 public:
  Deflater();
  ~Deflater();
  Deflater(const Deflater&) = delete;
  Deflater& operator=(const Deflater&) = delete;

  // Writes the compressed form of raw into out after its first keep bytes (room for a chunk
  // header, so header and data leave in one write) and shrinks out to fit.
  Result<void> compress(std::span<const std::byte> raw, std::vector<std::byte>& out, size_t keep);

 private:
  z_stream stream_{};
  bool ready_ = false;
};

// Decompresses one chunk into a buffer whose size the chunk header promised.
class Inflater {
 public:
  Inflater();
  ~Inflater();
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;

  // Fills out (already sized to the promised raw length) from compressed; fails unless the
  // stream ends exactly there, using all of compressed.
  Result<void> decompress(std::span<const std::byte> compressed, std::span<std::byte> out);

 private:
  libdeflate_decompressor* state_ = nullptr;
};

}  // namespace gputrace::capture
