#include "userspace/capture/file_header.h"

#include <algorithm>
#include <cstring>

namespace gputrace::capture {
namespace {

// Appends little-endian fields and length-prefixed strings to a byte vector.
class ByteAppender {
 public:
  explicit ByteAppender(std::vector<std::byte>& out) : out_(out) {}

  template <class T>
  void put(const T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto* p = reinterpret_cast<const std::byte*>(&value);
    out_.insert(out_.end(), p, p + sizeof(T));
  }

  void put_string(const std::string& s) {
    const auto len = static_cast<uint32_t>(std::min<size_t>(s.size(), kMaxHostStringLength));
    put(len);
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    out_.insert(out_.end(), p, p + len);
  }

 private:
  std::vector<std::byte>& out_;
};

// Takes fields off the front of a byte span, refusing to read past its end.
class ByteCursor {
 public:
  explicit ByteCursor(std::span<const std::byte> bytes) : bytes_(bytes) {}

  template <class T>
  bool take(T& value) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(&value, bytes_.data(), sizeof(T));
    bytes_ = bytes_.subspan(sizeof(T));
    return true;
  }

  // Host facts end up in reports and terminals: anything but printable ASCII becomes '?', so
  // a crafted capture cannot smuggle escape sequences into them.
  bool take_string(std::string& value) {
    uint32_t len = 0;
    if (!take(len) || len > kMaxHostStringLength || len > bytes_.size()) return false;
    value.resize(len);
    for (uint32_t i = 0; i < len; ++i) {
      const auto c = static_cast<unsigned char>(bytes_[i]);
      value[i] = (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
    bytes_ = bytes_.subspan(len);
    return true;
  }

 private:
  std::span<const std::byte> bytes_;
};

}  // namespace

std::vector<std::byte> encode_file_header(const CaptureHostInfo& host) {
  std::vector<std::byte> out;
  ByteAppender append(out);
  append.put(FileHeaderPrefix{kFileMagic, kFormatVersion, 0});
  append.put(host.start_monotonic_ns);
  append.put(host.start_realtime_ns);
  for (const std::string* s : {&host.hostname, &host.kernel_release, &host.boot_id, &host.gputrace_version})
    append.put_string(*s);
  const auto length = static_cast<uint32_t>(out.size());
  std::memcpy(out.data() + offsetof(FileHeaderPrefix, header_length), &length, sizeof(length));
  return out;
}

Result<FileHeaderPrefix> check_file_header_prefix(std::span<const std::byte> prefix, const std::string& name) {
  FileHeaderPrefix p{};
  if (prefix.size() < sizeof(p)) {
    if (prefix.empty())
      return fail("{} is empty: not a gputrace capture (was the recorder killed before it started?)", name);
    if (std::memcmp(prefix.data(), kFileMagic.data(), std::min(prefix.size(), kFileMagic.size())) != 0)
      return fail("{} is not a gputrace capture (it does not start with the GTRACE magic)", name);
    return fail("{} ends inside its file header after {} bytes: the capture holds no data", name, prefix.size());
  }
  std::memcpy(&p, prefix.data(), sizeof(p));
  if (p.magic != kFileMagic)
    return fail("{} is not a gputrace capture (it does not start with the GTRACE magic)", name);
  if (p.format_version == 0 || p.format_version > kFormatVersion)
    return fail("{} was written by a newer gputrace, format {}; this build reads up to {}: upgrade gputrace to read it",
                name, p.format_version, kFormatVersion);
  if (p.header_length < sizeof(p) || p.header_length > kMaxHeaderLength)
    return fail("{} is corrupt: its file header claims {} bytes (valid: {}..{})", name, p.header_length, sizeof(p),
                kMaxHeaderLength);
  return p;
}

Result<CaptureHostInfo> parse_host_facts(std::span<const std::byte> body, const std::string& name) {
  CaptureHostInfo host;
  ByteCursor cursor(body);
  const bool ok = cursor.take(host.start_monotonic_ns) && cursor.take(host.start_realtime_ns) &&
                  cursor.take_string(host.hostname) && cursor.take_string(host.kernel_release) &&
                  cursor.take_string(host.boot_id) && cursor.take_string(host.gputrace_version);
  if (!ok) return fail("{} is corrupt: its file header's host facts do not fit the header length", name);
  return host;
}

}  // namespace gputrace::capture
