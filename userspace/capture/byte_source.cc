#include "userspace/capture/byte_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace gputrace::capture {
namespace {

// Reads a capture file with pread.
class FileSource final : public ByteSource {
 public:
  FileSource(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}

  Result<uint64_t> size() override {
    struct stat st {};
    if (fstat(fd_.get(), &st) != 0) return fail_errno(errno, "cannot stat {}", path_);
    return static_cast<uint64_t>(st.st_size);
  }

  Result<size_t> read_at(uint64_t offset, std::span<std::byte> out) override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n = pread(fd_.get(), out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fail_errno(errno, "cannot read {} at byte {}", path_, offset + done);
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

 private:
  Fd fd_;
  std::string path_;
};

// Reads a capture held in memory.
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::span<const std::byte> bytes) : bytes_(bytes) {}

  Result<uint64_t> size() override { return bytes_.size(); }

  Result<size_t> read_at(uint64_t offset, std::span<std::byte> out) override {
    // An empty out may have no data pointer, and memcpy from or to null is undefined even
    // for zero bytes (the fuzzer found this one).
    if (out.empty() || offset >= bytes_.size()) return size_t{0};
    const size_t n = std::min<uint64_t>(out.size(), bytes_.size() - offset);
    std::memcpy(out.data(), bytes_.data() + offset, n);
    return n;
  }

 private:
  std::span<const std::byte> bytes_;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> open_file_source(const std::string& path) {
  // O_NONBLOCK: opening a FIFO must not hang before we can refuse it.
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (!fd.valid()) return fail_errno(errno, "cannot open capture {}", path);
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return fail_errno(errno, "cannot stat {}", path);
  if (!S_ISREG(st.st_mode)) return fail("{} is not a regular file: a capture is a file written by gputrace record", path);
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(std::move(fd), path));
}

std::unique_ptr<ByteSource> memory_source(std::span<const std::byte> bytes) {
  return std::make_unique<MemorySource>(bytes);
}

}  // namespace gputrace::capture
