#include "userspace/gpu/seqpacket_listener.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

namespace gputrace {
namespace {

// Whether something accepts connections on the socket at addr (another gputrace). Never
// blocks: a stopped owner with a full backlog (EAGAIN) is still the owner.
bool socket_is_live(const sockaddr_un& addr) {
  Fd probe(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!probe.valid()) return false;
  return ::connect(probe.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) == 0 || errno == EAGAIN;
}

// Removes a stale socket at path. Root must not unlink (or write through) whatever else an
// unprivileged user may have put there, so anything but a socket is refused; nor take the
// socket of a daemon that still serves it.
Result<void> clear_stale_socket(const std::string& path, const sockaddr_un& addr) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return {};
    return fail_errno(errno, "cannot inspect {}", path);
  }
  if (!S_ISSOCK(st.st_mode)) return fail("{} exists and is not a socket: remove it or choose another socket path", path);
  if (socket_is_live(addr))
    return fail_errno(EADDRINUSE, "another gputrace serves {}: its batches go there (USDT still reaches this one)", path);
  if (::unlink(path.c_str()) != 0) return fail_errno(errno, "cannot remove the stale socket {}", path);
  return {};
}

// The credentials the kernel attached to a received datagram (SO_PASSCRED, set on the
// listening socket and so on every accepted one from the start): the sending process at the
// time it sent, pid 0 when this pid namespace cannot see it. Descriptors a peer passed
// (SCM_RIGHTS) are closed: root keeps nothing a client hands it.
std::optional<ucred> sender_of(msghdr& msg) {
  std::optional<ucred> sender;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_CREDENTIALS && c->cmsg_len == CMSG_LEN(sizeof(ucred))) {
      ucred cred;
      std::memcpy(&cred, CMSG_DATA(c), sizeof(cred));
      sender = cred;
    } else if (c->cmsg_type == SCM_RIGHTS) {
      const size_t fds = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < fds; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
        ::close(fd);
      }
    }
  }
  return sender;
}

}  // namespace

Result<SeqpacketListener> SeqpacketListener::bind(const std::string& path, PeerPolicy policy, ListenerLimits limits) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path))
    return fail("socket path '{}' is empty or longer than {} bytes", path, sizeof(addr.sun_path) - 1);
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.data(), path.size());
  if (auto cleared = clear_stale_socket(path, addr); !cleared) return tl::unexpected(cleared.error());
  SeqpacketListener l;
  l.listen_fd_.reset(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!l.listen_fd_.valid()) return fail_errno(errno, "cannot create a SOCK_SEQPACKET socket");
  const int bound = ::bind(l.listen_fd_.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr));
  const int bind_errno = errno;
  if (bound != 0) return fail_errno(bind_errno, "cannot bind the CUPTI socket {}", path);
  // Every local process may report its GPU activity (what it sends is validated, not
  // trusted), so the socket is made 0666: never through a symlink put in its place, and not
  // by the process-wide umask, which other threads would see.
  if (::fchmodat(AT_FDCWD, path.c_str(), 0666, AT_SYMLINK_NOFOLLOW) != 0)
    return fail_errno(errno, "cannot make {} writable for traced processes", path);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return fail_errno(errno, "cannot inspect the new socket {}", path);
  l.inode_ = {st.st_dev, st.st_ino};
  // Inherited by every accepted socket inside accept(): no datagram arrives without its sender.
  const int on = 1;
  if (::setsockopt(l.listen_fd_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) != 0)
    return fail_errno(errno, "cannot ask for senders' credentials on {}", path);
  if (::listen(l.listen_fd_.get(), 64) != 0) return fail_errno(errno, "cannot listen on {}", path);
  l.path_ = path;
  l.policy_ = std::move(policy);
  l.limits_ = limits;
  l.budget_ = UidByteBudget(limits.bytes_per_second_per_uid, limits.burst_bytes_per_uid);
  l.buffer_.resize(GT_GPU_BATCH_MAX_BYTES + 1);
  return l;
}

SeqpacketListener::~SeqpacketListener() {
  if (!listen_fd_.valid() || path_.empty()) return;
  // Only our own socket: another gputrace may have replaced it since.
  struct stat st {};
  if (::lstat(path_.c_str(), &st) == 0 && std::make_pair(st.st_dev, st.st_ino) == inode_) ::unlink(path_.c_str());
}

Result<size_t> SeqpacketListener::poll_once(int timeout_ms, const DatagramSink& sink) {
  close_silent(std::chrono::steady_clock::now());
  std::vector<pollfd> fds;
  fds.reserve(clients_.size() + 1);
  fds.push_back({listen_fd_.get(), POLLIN, 0});
  for (const Client& c : clients_) fds.push_back({c.fd.get(), POLLIN, 0});
  const int n = ::poll(fds.data(), fds.size(), timeout_ms);
  if (n < 0 && errno != EINTR) return fail_errno(errno, "poll on the CUPTI socket failed");
  if (n <= 0) return 0;
  const size_t known = clients_.size();
  if (fds[0].revents & POLLIN) accept_pending();  // appends: the indexes of known clients hold
  size_t delivered = 0;
  std::vector<size_t> gone;
  for (size_t i = 0; i < clients_.size(); ++i) {
    // New peers are read at once: one may have sent everything and gone before the next poll.
    if (i < known && fds[i + 1].revents == 0) continue;
    if (!read_pending(clients_[i], sink, delivered)) gone.push_back(i);
  }
  for (auto it = gone.rbegin(); it != gone.rend(); ++it) clients_.erase(clients_.begin() + static_cast<long>(*it));
  return delivered;
}

void SeqpacketListener::accept_pending() {
  for (;;) {
    Fd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
    if (!fd.valid()) return;  // EAGAIN: none left (other errors: the peer gave up)
    ucred cred{};
    socklen_t len = sizeof(cred);
    // pid 0: the peer lives in a pid namespace this daemon cannot see, so it cannot be named.
    if (::getsockopt(fd.get(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || cred.pid <= 0 ||
        (policy_.only_uid && cred.uid != *policy_.only_uid) || (policy_.accept_pid && !policy_.accept_pid(cred.pid))) {
      ++stats_.refused_peer;
      continue;
    }
    if (clients_.size() >= limits_.max_clients) {
      ++stats_.refused_too_many;
      continue;
    }
    if (clients_of(cred.uid) >= limits_.max_clients_per_uid) {
      ++stats_.refused_uid_limit;
      continue;
    }
    ++stats_.connections;
    clients_.push_back({std::move(fd), cred.pid, cred.uid, std::chrono::steady_clock::now()});
  }
}

bool SeqpacketListener::read_pending(Client& c, const DatagramSink& sink, size_t& delivered) {
  // Bounded per call, so one busy sender cannot starve the others (or the caller's loop).
  for (int i = 0; i < 256; ++i) {
    iovec iov{buffer_.data(), buffer_.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred))];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    // MSG_TRUNC makes recvmsg return the datagram's real length even when it did not fit.
    const ssize_t n = ::recvmsg(c.fd.get(), &msg, MSG_TRUNC | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    if (n == 0 && msg.msg_controllen == 0) return false;  // seqpacket: the peer's orderly shutdown
    if (n == 0) {
      // An empty datagram carries its sender's credentials, a shutdown carries nothing: the
      // peer stays connected, and the nonsense is counted.
      (void)sender_of(msg);  // closes any descriptors it passed
      ++stats_.empty;
      continue;
    }
    if (static_cast<size_t>(n) > GT_GPU_BATCH_MAX_BYTES) {
      ++stats_.oversize;
      continue;
    }
    // The connect-time pid goes stale when the peer forks, passes the socket on, or exits
    // and its pid is reused: each datagram speaks for the process that sent it.
    const auto sender = sender_of(msg);
    if (!sender || sender->pid <= 0 ||
        (sender->pid != c.pid && ((policy_.only_uid && sender->uid != *policy_.only_uid) ||
                                  (policy_.accept_pid && !policy_.accept_pid(sender->pid))))) {
      ++stats_.refused_sender;  // a pid this namespace cannot see, or a process the policy excludes
      continue;
    }
    c.spoke = true;
    if (!budget_.take(sender->uid, static_cast<uint64_t>(n), std::chrono::steady_clock::now())) {
      ++stats_.over_budget;
      stats_.over_budget_bytes += static_cast<uint64_t>(n);
      continue;
    }
    ++stats_.datagrams;
    ++delivered;
    sink(std::span(buffer_).first(static_cast<size_t>(n)), sender->pid, sender->uid);
  }
  return true;
}

size_t SeqpacketListener::clients_of(uid_t uid) const {
  return static_cast<size_t>(std::count_if(clients_.begin(), clients_.end(), [uid](const Client& c) { return c.uid == uid; }));
}

void SeqpacketListener::close_silent(std::chrono::steady_clock::time_point now) {
  const auto before = clients_.size();
  std::erase_if(clients_, [&](const Client& c) { return !c.spoke && now - c.connected >= limits_.silent_timeout; });
  stats_.closed_silent += before - clients_.size();
}

}  // namespace gputrace
