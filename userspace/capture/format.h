// On-disk structures and limits of capture files (.gtrace), format version 1.
//
// docs/capture-format.md is the prose version of this file; change both together. All
// integers are little-endian (the byte order of every host gputrace runs on, and of the wire
// records the chunks carry).
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace gputrace::capture {

static_assert(std::endian::native == std::endian::little,
              "capture files and wire records are little-endian; a big-endian port needs byte swapping here");

inline constexpr std::array<char, 8> kFileMagic = {'G', 'T', 'R', 'A', 'C', 'E', '\r', '\n'};
inline constexpr std::array<char, 4> kChunkMagic = {'G', 'T', 'C', 'K'};

// Bumped only for changes an older reader cannot skip over; appending fields to the end of
// the file header is not such a change (readers skip what header_length says they do not know).
inline constexpr uint32_t kFormatVersion = 1;

// Starts every capture file. header_length counts the whole file header, prefix included,
// so a reader finds the first chunk without understanding every host fact.
struct FileHeaderPrefix {
  std::array<char, 8> magic;
  uint32_t format_version;
  uint32_t header_length;
};
static_assert(sizeof(FileHeaderPrefix) == 16);
static_assert(std::is_trivially_copyable_v<FileHeaderPrefix>);

// Precedes each chunk's compressed bytes. header_crc32 covers the 20 bytes before it, so a
// damaged length is told apart from a file that simply ends early.
struct ChunkHeader {
  std::array<char, 4> magic;
  uint32_t compressed_length;
  uint32_t raw_length;
  uint32_t record_count;
  uint32_t data_crc32;    // crc32 of the compressed bytes (raw DEFLATE, RFC 1951)
  uint32_t header_crc32;  // crc32 of the fields above
};
static_assert(sizeof(ChunkHeader) == 24);
static_assert(offsetof(ChunkHeader, header_crc32) == 20);
static_assert(std::is_trivially_copyable_v<ChunkHeader>);

// Bounds a reader checks before it allocates anything.
inline constexpr uint32_t kMaxHeaderLength = 64 * 1024;
inline constexpr uint32_t kMaxHostStringLength = 4096;
inline constexpr uint32_t kMaxChunkRawLength = 64 * 1024 * 1024;
// deflate cannot expand more than 1032:1 (a 258-byte match in two bits), so a raw length beyond
// this is a lie: checking it keeps a tiny file from making the reader allocate 64 MiB.
inline constexpr uint64_t kMaxDeflateRatio = 1032;

// The writer closes a chunk once this many raw bytes are buffered (or on flush()).
inline constexpr size_t kTargetChunkRawLength = 256 * 1024;

}  // namespace gputrace::capture
