#include "cupti/control_server.h"

#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

namespace gputrace::cupti {
namespace {

// "gputrace-cupti.<pid>.<random>": the pid for people reading /proc/net/unix, the random part
// so that processes of two pid namespaces sharing a network namespace never collide.
std::string fresh_name() {
  uint64_t r = 0;
  if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) r = static_cast<uint64_t>(getpid()) * 0x9e3779b97f4a7c15ull;
  char name[64];
  std::snprintf(name, sizeof(name), "gputrace-cupti.%d.%016llx", getpid(), static_cast<unsigned long long>(r));
  return name;
}

socklen_t abstract_address(const std::string& name, sockaddr_un& addr) {
  addr = {};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), std::min(name.size(), sizeof(addr.sun_path) - 2));
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
}

}  // namespace

bool ControlServer::open(std::string& error) {
  close_all();
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = std::string("cannot create the control socket: ") + std::strerror(errno);
    return false;
  }
  const std::string name = fresh_name();
  sockaddr_un addr;
  const socklen_t len = abstract_address(name, addr);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0 || ::listen(fd, 8) != 0) {
    error = std::string("cannot listen on the control socket @") + name + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  listener_ = fd;
  name_ = name;
  ever_leased_ = false;
  return true;
}

void ControlServer::add_pollfds(std::vector<pollfd>& fds) const {
  if (listener_ >= 0) fds.push_back({listener_, POLLIN, 0});
  for (const Connection& c : connections_)
    if (c.fd >= 0) fds.push_back({c.fd, POLLIN, 0});
}

void ControlServer::accept_all() {
  for (;;) {
    const int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    ucred cred{};
    socklen_t len = sizeof(cred);
    const bool known = ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0;
    auto slot = std::find_if(connections_.begin(), connections_.end(), [](const Connection& c) { return c.fd < 0; });
    if (!known || !peer_allowed(cred.uid, ::geteuid()) || slot == connections_.end()) {
      ::close(fd);
      continue;
    }
    *slot = {fd, false};
  }
}

bool ControlServer::answer(Connection& c, Handler& handler) {
  gt_attach_request req{};
  const ssize_t n = ::recv(c.fd, &req, sizeof(req), MSG_DONTWAIT);
  if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  if (n == 0) return false;  // the tracer closed its end: its lease (if any) ends here
  if (n != sizeof(req) || req.magic != GT_ATTACH_MAGIC || req.abi != GT_ATTACH_ABI) return false;
  if (req.op == GT_ATTACH_HELLO && (req.flags & GT_ATTACH_LEASE)) {
    c.lease = true;
    ever_leased_ = true;
  }
  if (req.op == GT_ATTACH_ANNOUNCE || (req.op == GT_ATTACH_HELLO && (req.flags & GT_ATTACH_REANNOUNCE)))
    handler.announce();
  gt_attach_reply reply = handler.status();
  reply.magic = GT_ATTACH_MAGIC;
  reply.abi = GT_ATTACH_ABI;
  reply.op = req.op;
  reply.leases = static_cast<uint32_t>(leases());
  reply.pid = static_cast<uint32_t>(::getpid());
  ::send(c.fd, &reply, sizeof(reply), MSG_DONTWAIT | MSG_NOSIGNAL);
  return true;
}

bool ControlServer::serve(const std::vector<pollfd>& fds, Handler& handler) {
  bool detach = false;
  for (const pollfd& p : fds) {
    if (p.revents == 0) continue;
    if (p.fd == listener_) {
      accept_all();
      continue;
    }
    auto it = std::find_if(connections_.begin(), connections_.end(),
                           [&](const Connection& c) { return c.fd >= 0 && c.fd == p.fd; });
    if (it == connections_.end()) continue;
    // A request first (a tracer may send DETACH and close at once), then hang-ups.
    gt_attach_request peek{};
    const bool wants_detach = (p.revents & POLLIN) && ::recv(it->fd, &peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT) ==
                                                          static_cast<ssize_t>(sizeof(peek)) &&
                              peek.magic == GT_ATTACH_MAGIC && peek.op == GT_ATTACH_DETACH;
    const bool keep = (p.revents & POLLIN) ? answer(*it, handler) : false;
    detach = detach || wants_detach;
    if (!keep || (p.revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
      ::close(it->fd);
      *it = {};
    }
  }
  return detach;
}

size_t ControlServer::leases() const {
  return static_cast<size_t>(
      std::count_if(connections_.begin(), connections_.end(), [](const Connection& c) { return c.fd >= 0 && c.lease; }));
}

void ControlServer::close_all() {
  forget_after_fork();
  name_.clear();
}

void ControlServer::forget_after_fork() {
  // In a child: its copies only (the parent's stay open), and nothing but close(): the parent's
  // worker may have been anywhere when fork() copied this object.
  for (Connection& c : connections_) {
    if (c.fd >= 0) ::close(c.fd);
    c = {};
  }
  if (listener_ >= 0) ::close(listener_);
  listener_ = -1;
}

}  // namespace gputrace::cupti
