#include "userspace/gc/go_buildinfo.h"

#include <charconv>
#include <cstring>

namespace gputrace::gc {
namespace {

constexpr std::string_view kMagic = "\xff Go buildinf:";
constexpr size_t kHeaderSize = 32;
constexpr uint8_t kFlagInlineStrings = 0x2;  // Go 1.18+: strings follow the header
constexpr uint8_t kFlagBigEndian = 0x1;

uint64_t read_uint(std::span<const std::byte> b, size_t width, bool big_endian) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) {
    const auto byte = static_cast<uint64_t>(b[big_endian ? i : width - 1 - i]);
    v = (v << 8) | byte;
  }
  return v;
}

std::optional<std::string> read_inline_string(std::span<const std::byte> b) {
  uint64_t len = 0;
  size_t shift = 0, i = 0;
  for (; i < b.size() && i < 10; ++i) {  // unsigned varint
    const auto c = static_cast<uint8_t>(b[i]);
    len |= static_cast<uint64_t>(c & 0x7f) << shift;
    shift += 7;
    if (!(c & 0x80)) break;
  }
  if (i >= b.size() || len > b.size() - i - 1) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(b.data() + i + 1), len);
}

}  // namespace

std::optional<GoVersion> GoVersion::parse(std::string_view text) {
  if (!text.starts_with("go")) return std::nullopt;
  text.remove_prefix(2);
  GoVersion v;
  int* parts[] = {&v.major, &v.minor, &v.patch};
  const char* p = text.data();
  const char* end = text.data() + text.size();
  for (size_t i = 0; i < 3 && p < end; ++i) {
    auto [next, ec] = std::from_chars(p, end, *parts[i]);
    if (ec != std::errc{}) return i >= 2 ? std::optional(v) : std::nullopt;
    p = next;
    if (p == end || *p != '.') break;
    ++p;
  }
  if (v.major == 0) return std::nullopt;
  return v;
}

std::optional<std::string> parse_go_buildinfo(std::span<const std::byte> section, const VaddrReader& read) {
  if (section.size() < kHeaderSize || std::memcmp(section.data(), kMagic.data(), kMagic.size()) != 0)
    return std::nullopt;
  const auto ptr_size = static_cast<size_t>(section[14]);
  const auto flags = static_cast<uint8_t>(section[15]);
  if (flags & kFlagInlineStrings) return read_inline_string(section.subspan(kHeaderSize));
  if (ptr_size != 4 && ptr_size != 8) return std::nullopt;
  // Before Go 1.18: a pointer to the version's string header {data, len} follows the magic.
  const bool big = flags & kFlagBigEndian;
  const uint64_t header_addr = read_uint(section.subspan(16, ptr_size), ptr_size, big);
  const auto header = read(header_addr, 2 * ptr_size);
  if (header.size() < 2 * ptr_size) return std::nullopt;
  const uint64_t data = read_uint(header.subspan(0, ptr_size), ptr_size, big);
  const uint64_t len = read_uint(header.subspan(ptr_size, ptr_size), ptr_size, big);
  if (len == 0 || len > 64) return std::nullopt;
  const auto text = read(data, len);
  if (text.size() < len) return std::nullopt;
  return std::string(reinterpret_cast<const char*>(text.data()), len);
}

}  // namespace gputrace::gc
