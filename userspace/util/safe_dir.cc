#include "userspace/util/safe_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>
#include <vector>

namespace gputrace {
namespace {

std::vector<std::string> components_of(const std::string& path) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at <= path.size()) {
    const size_t slash = path.find('/', at);
    const size_t end = slash == std::string::npos ? path.size() : slash;
    if (end > at) out.push_back(path.substr(at, end - at));
    at = end + 1;
  }
  return out;
}

// A directory that another user can change under root's feet: rename a file out, plant one.
Result<void> check_trusted(int fd, const std::string& shown) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail_errno(errno, "cannot stat {}", shown);
  if (st.st_uid != ::geteuid())
    return fail("{} belongs to uid {}, not to uid {} that gputrace runs as: another user could replace "
                "what gputrace writes there; use a directory of your own",
                shown, st.st_uid, ::geteuid());
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (st.st_mode & S_ISVTX) == 0)
    return fail("{} is writable by other users (mode {:o}) without the sticky bit; use a directory only you can write",
                shown, st.st_mode & 07777);
  return {};
}

// One step of the walk: the directory name in parent, following a symbolic link only if root
// owns it (a link in a world-writable directory is another user's choice of target).
Result<Fd> open_step(int parent, const std::string& name, const std::string& shown) {
  Fd fd(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.valid()) return fd;
  const int err = errno;
  struct stat st {};
  if ((err == ELOOP || err == ENOTDIR) && ::fstatat(parent, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISLNK(st.st_mode)) {
    if (st.st_uid != 0)
      return fail("{} is a symbolic link owned by uid {}: gputrace runs as root and does not follow another "
                  "user's link; give the real directory",
                  shown, st.st_uid);
    Fd followed(::openat(parent, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (followed.valid()) return followed;
    return fail_errno(errno, "cannot open directory {}", shown);
  }
  if (err == ENOTDIR) return fail("{} is not a directory", shown);
  return fail_errno(err, "cannot open directory {}", shown);
}

std::string random_suffix() {
  std::random_device rd;
  return fmt::format("{:08x}{:08x}", rd(), rd());
}

}  // namespace

Result<SafeDir> SafeDir::open(const std::string& dir, bool create) {
  auto fd = walk(dir, create);
  if (!fd) return tl::unexpected(fd.error());
  if (auto trusted = check_trusted(fd->get(), dir); !trusted) return tl::unexpected(trusted.error());
  return SafeDir(std::move(*fd), dir);
}

Result<Fd> SafeDir::walk(const std::string& dir, bool create) {
  if (dir.empty()) return fail("an empty directory name was given");
  Fd at(::open(dir.front() == '/' ? "/" : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!at.valid()) return fail_errno(errno, "cannot open the start of {}", dir);
  const auto parts = components_of(dir);
  std::string shown = dir.front() == '/' ? "" : ".";
  for (size_t i = 0; i < parts.size(); ++i) {
    shown += "/" + parts[i];
    const bool last = i + 1 == parts.size();
    if (last && create && ::mkdirat(at.get(), parts[i].c_str(), 0700) != 0 && errno != EEXIST)
      return fail_errno(errno, "cannot create directory {}", dir);
    auto next = open_step(at.get(), parts[i], shown);
    if (!next) return tl::unexpected(next.error());
    at = std::move(*next);
  }
  return at;
}

Result<Fd> create_new_file(const std::string& path, mode_t mode) {
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return fail("{} names a directory, not a new file", path);
  auto at = SafeDir::walk(dir, false);
  if (!at) return tl::unexpected(at.error());
  Fd fd(::openat(at->get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!fd.valid()) return fail_errno(errno, "cannot create {}", path);
  return fd;
}

Result<void> SafeDir::replace_file(std::string_view name, std::string_view text) const {
  const std::string target(name);
  const std::string tmp = fmt::format(".{}.tmp-{}", target, random_suffix());
  Fd fd(::openat(fd_.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) return fail_errno(errno, "cannot create {}/{}", path_, tmp);
  auto discard = [&](int err, const char* what) {
    ::unlinkat(fd_.get(), tmp.c_str(), 0);
    return fail_errno(err, "{} {}/{}", what, path_, target);
  };
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return discard(errno, "writing");
    done += static_cast<size_t>(n);
  }
  if (::close(fd.release()) != 0) return discard(errno, "writing");
  if (::renameat(fd_.get(), tmp.c_str(), fd_.get(), target.c_str()) != 0) return discard(errno, "cannot replace");
  return {};
}

Result<Fd> open_own_file_for_append(const std::string& path) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    if (errno == ELOOP) return fail("{} is a symbolic link: gputrace (root) does not append through one", path);
    if (errno == ENXIO) return fail("{} is a FIFO or socket, not a regular file: give the path of a file", path);
    return fail_errno(errno, "cannot open {} for appending", path);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return fail_errno(errno, "cannot stat {}", path);
  if (!S_ISREG(st.st_mode)) return fail("{} is not a regular file: give the path of a file", path);
  if (st.st_uid != ::geteuid())
    return fail("{} belongs to uid {}: gputrace runs as uid {} and will not append to another user's file (they "
                "could read what it writes); remove it or choose another path",
                path, st.st_uid, ::geteuid());
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) return fail_errno(errno, "cannot set up {}", path);
  return fd;
}

}  // namespace gputrace
