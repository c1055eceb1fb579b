// CaptureWriter: buffers records into ~256 KiB chunks and writes each chunk, header and
// compressed data, with one write so a killed recorder leaves at most one partial chunk.
#include "userspace/capture/capture.h"
#include "userspace/capture/file_header.h"
#include "userspace/capture/format.h"
#include "userspace/capture/zlib_stream.h"
#include "userspace/decode/decoder.h"
#include "userspace/decode/kinds.h"
#include "userspace/util/fd.h"
#include "userspace/util/safe_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <vector>

namespace gputrace {
namespace {

using namespace capture;

Result<void> write_all(int fd, std::span<const std::byte> bytes, const std::string& path) {
  while (!bytes.empty()) {
    const ssize_t n = write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(errno, "cannot write capture {}", path);
    bytes = bytes.subspan(static_cast<size_t>(n));
  }
  return {};
}

// O_EXCL refuses a symbolic link with EEXIST, like any existing name: tell the two apart so
// the message says what is really in the way.
tl::unexpected<Error> explain_create_failure(int err, const std::string& path) {
  struct stat st {};
  const bool is_link = lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
  if (err == ELOOP || (err == EEXIST && is_link))
    return fail("{} is a symbolic link: gputrace refuses to write a capture through one (it runs as root); "
                "give the path of a new file instead",
                path);
  if (err == EEXIST)
    return fail("{} already exists: gputrace never overwrites a file; choose a new name or remove the old one", path);
  return fail_errno(err, "cannot create capture {}", path);
}

ChunkHeader make_chunk_header(std::span<const std::byte> compressed, size_t raw_length, uint32_t record_count) {
  ChunkHeader h{kChunkMagic, static_cast<uint32_t>(compressed.size()), static_cast<uint32_t>(raw_length),
                record_count, crc32_of(compressed), 0};
  h.header_crc32 = crc32_of(std::as_bytes(std::span(&h, 1)).first(offsetof(ChunkHeader, header_crc32)));
  return h;
}

// Writes one capture file, created by CaptureWriter::create.
class CaptureFileWriter final : public CaptureWriter {
 public:
  CaptureFileWriter(Fd fd, std::string path, uint64_t header_length)
      : fd_(std::move(fd)), path_(std::move(path)), file_length_(header_length) {
    raw_.reserve(kTargetChunkRawLength + 4096);
  }

  ~CaptureFileWriter() override {
    if (fd_.valid() && !failed_) (void)write_chunk();  // best effort: close() is where errors are reported
  }

  Result<void> append(const Record& record) override {
    if (auto usable = check_usable(); !usable) return usable;
    if (auto valid = check_record(record); !valid) return valid;
    if (raw_.size() + record.bytes.size() > kMaxChunkRawLength) {
      if (auto ok = write_chunk(); !ok) return ok;
    }
    if (pending_records_ == 0) oldest_pending_ = std::chrono::steady_clock::now();
    raw_.insert(raw_.end(), record.bytes.begin(), record.bytes.end());
    ++pending_records_;
    if (raw_.size() >= kTargetChunkRawLength) return write_chunk();
    return {};
  }

  Result<void> flush() override {
    if (auto usable = check_usable(); !usable) return usable;
    return write_chunk();
  }

  Result<void> flush_if_due(std::chrono::steady_clock::time_point now, std::chrono::nanoseconds interval) override {
    if (auto usable = check_usable(); !usable) return usable;
    if (pending_records_ > 0 && now - oldest_pending_ >= interval) {
      if (auto ok = write_chunk(); !ok) return ok;
    }
    if (file_length_ > synced_length_ && now - last_sync_ >= interval) {
      if (fdatasync(fd_.get()) != 0) return stop(fail_errno(errno, "cannot sync capture {} to disk", path_));
      synced_length_ = file_length_;
      last_sync_ = now;
    }
    return {};
  }

  Result<void> close() override {
    if (auto ok = flush(); !ok) return ok;
    if (fdatasync(fd_.get()) != 0) return stop(fail_errno(errno, "cannot sync capture {} to disk", path_));
    if (::close(fd_.release()) != 0) return stop(fail_errno(errno, "cannot close capture {}", path_));
    return {};
  }

  uint64_t records_written() const override { return records_written_; }

 private:
  Result<void> check_usable() const {
    if (failed_) return fail("capture {} stopped after an earlier error: {}", path_, failed_->describe());
    if (!fd_.valid()) return fail("capture {} is already closed", path_);
    return {};
  }

  // A record the reader would reject must never reach the file: it would make the whole
  // chunk unreadable.
  static Result<void> check_record(const Record& record) {
    Record decoded;
    const DecodeError err = decode_one(record.bytes, decoded);
    if (err != DecodeError::None)
      return fail("refusing to write a record of {} bytes to a capture: {}", record.bytes.size(), describe(err));
    if (decoded.header.size != record.bytes.size())
      return fail("refusing to write a {} record whose header says {} bytes but which holds {}",
                  kind_info(decoded.header.kind).name, decoded.header.size, record.bytes.size());
    if (record.bytes.size() > kMaxChunkRawLength)
      return fail("refusing to write a record of {} bytes: a capture chunk holds at most {}", record.bytes.size(),
                  kMaxChunkRawLength);
    return {};
  }

  Result<void> write_chunk() {
    if (pending_records_ == 0) return {};
    if (auto ok = deflater_.compress(raw_, chunk_, sizeof(ChunkHeader)); !ok) return stop(ok);
    const auto compressed = std::span<const std::byte>(chunk_).subspan(sizeof(ChunkHeader));
    const ChunkHeader header = make_chunk_header(compressed, raw_.size(), pending_records_);
    std::memcpy(chunk_.data(), &header, sizeof(header));
    if (auto ok = write_all(fd_.get(), chunk_, path_); !ok) {
      // Cut the partial chunk off so the file still reads to its last whole chunk. Best
      // effort: if that fails too, the reader reports a truncated tail, which is still true.
      [[maybe_unused]] const int rc = ftruncate(fd_.get(), static_cast<off_t>(file_length_));
      return stop(ok);
    }
    file_length_ += chunk_.size();
    records_written_ += pending_records_;
    pending_records_ = 0;
    raw_.clear();
    return {};
  }

  Result<void> stop(Result<void> error) {
    failed_ = error.error();
    raw_.clear();
    pending_records_ = 0;
    return error;
  }

  Fd fd_;
  std::string path_;
  uint64_t file_length_;
  uint64_t synced_length_ = 0;  // file_length_ at the last fdatasync
  std::chrono::steady_clock::time_point last_sync_{};
  std::chrono::steady_clock::time_point oldest_pending_{};  // when the first buffered record came
  uint64_t records_written_ = 0;
  uint32_t pending_records_ = 0;
  std::optional<Error> failed_;
  Deflater deflater_;
  std::vector<std::byte> raw_;    // wire records of the chunk being filled
  std::vector<std::byte> chunk_;  // chunk header + compressed records, as written
};

}  // namespace

Result<std::unique_ptr<CaptureWriter>> CaptureWriter::create(const std::string& path, const CaptureHostInfo& host) {
  // Its directory is reached without following another user's link (a /tmp/d -> /etc).
  auto created = create_new_file(path, 0600);
  if (!created) {
    if (created.error().errnum == 0) return tl::unexpected(created.error());  // a link refused on the way
    return explain_create_failure(created.error().errnum, path);
  }
  Fd fd = std::move(*created);
  const std::vector<std::byte> header = encode_file_header(host);
  if (auto ok = write_all(fd.get(), header, path); !ok) {
    unlink(path.c_str());  // we created it a moment ago: leave no headerless file behind
    return tl::unexpected(ok.error());
  }
  return std::make_unique<CaptureFileWriter>(std::move(fd), path, header.size());
}

}  // namespace gputrace
