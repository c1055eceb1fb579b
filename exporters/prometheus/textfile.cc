#include "exporters/prometheus/textfile.h"

#include "userspace/util/fd.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace gputrace::prometheus {
namespace {

Result<void> write_all(int fd, std::string_view text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail_errno(errno, "cannot write the metrics textfile {}", path);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

Result<void> write_textfile_atomically(const std::string& path, std::string_view text) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  const std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty()) return fail("the metrics textfile path {} names a directory; give a file name ending in .prom", path);

  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    return fail("refusing to replace {}: it is not a regular file (a symbolic link or a directory)", path);

  // A name nobody can predict, created exclusively (mkostemp: O_CREAT|O_EXCL, mode 0600): in a
  // directory others can write, a planted file or hard link must make this fail, never be
  // truncated or have its mode changed by a daemon running as root.
  std::string tmp = dir + "/." + base + ".XXXXXX";
  Fd fd(::mkostemp(tmp.data(), O_CLOEXEC));
  if (!fd.valid()) return fail_errno(errno, "cannot create a temporary file in {} (is the directory there and writable?)", dir);
  ::fchmod(fd.get(), 0644);  // node_exporter usually runs as its own user
  auto cleanup = [&] { ::unlink(tmp.c_str()); };
  if (auto r = write_all(fd.get(), text, tmp); !r) {
    cleanup();
    return r;
  }
  if (::fsync(fd.get()) != 0) {
    const int e = errno;
    cleanup();
    return fail_errno(e, "cannot sync {}", tmp);
  }
  fd.reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = errno;
    cleanup();
    return fail_errno(e, "cannot rename {} to {}", tmp, path);
  }
  Fd dirfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dirfd.valid()) ::fsync(dirfd.get());  // best effort: the file is in place either way
  return {};
}

}  // namespace gputrace::prometheus
