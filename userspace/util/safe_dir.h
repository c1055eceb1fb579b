// SafeDir: a directory that root may write files into by name, opened without following
// another user's symbolic link and checked to be one that no other user can change.
//
// gputrace runs as root and writes reports, traces and metrics into directories a person
// names on the command line, often under /tmp. A path walked by name would let a local user
// redirect those writes (a symlink at /tmp/reports pointing at /etc, say). SafeDir walks the
// path one component at a time from a directory fd, follows a symbolic link only when root
// owns it (/var/run -> /run), and refuses a directory that is not owned by the caller's uid
// or that others can write without the sticky bit. Files are then written with openat and
// renamed into place with renameat in that fd, so nothing can swap the directory afterwards.
#pragma once

#include "userspace/util/fd.h"
#include "userspace/util/result.h"

#include <sys/types.h>

#include <string>
#include <string_view>

namespace gputrace {

class SafeDir {
 public:
  // Opens dir, creating its last component (mode 0700) when missing.
  static Result<SafeDir> open(const std::string& dir, bool create = true);

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }

  // Writes text to dir/name atomically: a new file with an unpredictable temporary name
  // (O_EXCL|O_NOFOLLOW, mode 0600), written in full and closed, then renamed over name. A
  // failed write (full disk) leaves the previous file in place and no temporary behind.
  Result<void> replace_file(std::string_view name, std::string_view text) const;

 private:
  SafeDir(Fd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  friend Result<Fd> create_new_file(const std::string& path, mode_t mode);
  // The walk without the ownership check of the last directory.
  static Result<Fd> walk(const std::string& dir, bool create);
  Fd fd_;
  std::string path_;
};

// Creates path as a new file (O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, O_WRONLY, mode), its
// directory reached as SafeDir reaches one: never through another user's symbolic link. The
// directory need not be root's (the file is new and exclusive: nobody else's file is touched).
// errno-carrying errors: EEXIST, ELOOP (path is a link) as open(2) gives them.
Result<Fd> create_new_file(const std::string& path, mode_t mode);

// Opens path for appending (created 0600 when missing) only if it is a regular file owned by
// the caller's uid: never through a symbolic link, never another user's file (root's
// appends would stay readable to them), never a FIFO or device (a FIFO blocks open() until
// someone reads it, then streams to them). O_NONBLOCK during the open, cleared after.
Result<Fd> open_own_file_for_append(const std::string& path);

}  // namespace gputrace
