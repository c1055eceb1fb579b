#include "transport.h"

#include "clock_alignment.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <new>

// The semaphore libbpf's USDT attach increments (uprobe ref_ctr) in every process that maps
// this library while a tracer is attached. It must be named <provider>_<probe>_semaphore.
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

extern "C" {
__extension__ unsigned short gputrace_batch_semaphore __attribute__((unused, section(".probes")));
}

namespace gputrace::cupti {
namespace {
constexpr uint64_t kReconnectIntervalNs = 1'000'000'000;  // a missing daemon costs one connect() a second
}

__attribute__((noinline)) void fire_batch_probe(const void* batch, size_t len) {
  STAP_PROBE2(gputrace, batch, batch, len);
}

bool batch_probe_attached() { return __atomic_load_n(&gputrace_batch_semaphore, __ATOMIC_RELAXED) != 0; }

DaemonTransport::DaemonTransport(std::string socket_path) : socket_path_(std::move(socket_path)) {}

DaemonTransport::~DaemonTransport() { disconnect(); }

bool DaemonTransport::active() {
  std::lock_guard lock(mu_);
  return choose_route() != Route::None;
}

DaemonTransport::Route DaemonTransport::choose_route() {
  Route route = Route::None;
  if (batch_probe_attached()) {
    route = Route::Usdt;
  } else {
    if (fd_ < 0) try_connect();
    if (fd_ >= 0) route = Route::Socket;
  }
  if (route != route_) {
    route_ = route;
    if (route != Route::None) ++epoch_;
  }
  return route;
}

bool DaemonTransport::send(std::span<const std::byte> batch) {
  std::lock_guard lock(mu_);
  switch (choose_route()) {
    case Route::Usdt:
      fire_batch_probe(batch.data(), batch.size());
      return true;
    case Route::Socket: {
      const ssize_t n = ::send(fd_, batch.data(), batch.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(batch.size())) return true;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) disconnect();
      return false;
    }
    case Route::None: break;
  }
  return false;
}

void DaemonTransport::try_connect() {
  if (socket_path_.empty() || socket_path_.size() >= sizeof(sockaddr_un::sun_path)) return;
  const uint64_t now = ClockAlignment::monotonic_now();
  if (now < next_connect_ns_) return;
  next_connect_ns_ = now + kReconnectIntervalNs;
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  // A non-blocking connect on a Unix socket completes at once or fails (EAGAIN: backlog full).
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return;
  }
  fd_ = fd;
}

void DaemonTransport::disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  route_ = Route::None;  // the next connection may reach another daemon: a new epoch
}

void DaemonTransport::forget_connection_after_fork() {
  // Runs in the child of fork(), where only this thread exists: mu_ may be held by a thread
  // that no longer exists, so it is reinitialised rather than locked.
  new (&mu_) std::mutex();
  disconnect();
  next_connect_ns_ = 0;
}

}  // namespace gputrace::cupti
