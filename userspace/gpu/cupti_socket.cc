#include "userspace/gpu/cupti_socket.h"

#include "userspace/util/log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

namespace gputrace {
namespace {

Result<void> check_private_dir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0755) == 0) {
    // mkdir's mode passes through the umask (sudo from a 077 user): every user must be able
    // to reach the socket inside.
    if (::chmod(dir.c_str(), 0755) != 0) return fail_errno(errno, "cannot make {} searchable for traced processes", dir);
  } else if (errno != EEXIST) {
    return fail_errno(errno, "cannot create {}", dir);
  }
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) return fail_errno(errno, "cannot inspect {}", dir);
  if (!S_ISDIR(st.st_mode)) return fail("{} is not a directory (a symlink?): remove it so gputrace can create it", dir);
  if (st.st_uid != ::geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
    return fail("{} must be owned by the user gputrace runs as (uid {}) and writable by no one else (it is uid {}, mode "
                "{:o}): fix it or remove it",
                dir, ::geteuid(), st.st_uid, st.st_mode & 07777);
  if (!(st.st_mode & S_IXOTH))
    log_warning("{} is mode {:o}: only its owner and group can reach the CUPTI socket inside", dir, st.st_mode & 07777);
  return {};
}

}  // namespace

Result<SeqpacketListener> serve_cupti_socket(const std::string& path, PeerPolicy policy) {
  if (path.empty() || path.front() != '/') return fail("the CUPTI socket path '{}' must be absolute", path);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (auto ok = check_private_dir(dir); !ok) return tl::unexpected(ok.error());
  return SeqpacketListener::bind(path, std::move(policy));
}

}  // namespace gputrace
