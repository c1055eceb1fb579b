#include "cupti/transport.h"

#include "cupti/clock_alignment.h"

#include <fcntl.h>
#include <poll.h>
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
// The kernel raises the probe's semaphore when the first tracer registers the uprobe, a moment
// before that tracer's BPF program is attached to it: what is announced in between is lost to
// it. So the USDT route gets a second new epoch this long after it opened.
constexpr uint64_t kSecondAnnounceNs = 500'000'000;
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

void DaemonTransport::set_socket_path(const std::string& path) {
  std::lock_guard lock(mu_);
  if (path == socket_path_) return;
  disconnect();
  socket_path_ = path;
  next_connect_ns_ = 0;
}

DaemonTransport::Route DaemonTransport::choose_route() {
  Route route = Route::None;
  // The semaphore says whether any tracer's probe is on, not how many (the kernel raises it
  // once, with the first breakpoint): tracers arriving later ask for names, devices and status
  // over the attach control socket, or get them with the periodic re-announce.
  if (batch_probe_attached()) {
    route = Route::Usdt;
    const uint64_t now = ClockAlignment::monotonic_now();
    if (route_ != Route::Usdt) second_epoch_at_ns_ = now + kSecondAnnounceNs;
    if (second_epoch_at_ns_ != 0 && now >= second_epoch_at_ns_) {
      second_epoch_at_ns_ = 0;
      ++epoch_;
    }
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
    case Route::Socket: return send_datagram(batch);
    case Route::None: break;
  }
  return false;
}

bool DaemonTransport::send_datagram(std::span<const std::byte> batch) {
  const uint64_t deadline = ClockAlignment::monotonic_now() + uint64_t{kSendWaitMs} * 1'000'000;
  for (;;) {
    const ssize_t n = ::send(fd_, batch.data(), batch.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(batch.size())) {
      daemon_stalled_ = false;
      return true;
    }
    if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)) {
      disconnect();  // the daemon went away (or cut a datagram, which SEQPACKET never does)
      return false;
    }
    // Full: the daemon is behind. Give it a moment to read before dropping the batch. POLLOUT
    // waits for the buffer to drain to a quarter, more than a send needs: poll in short
    // slices and try again after each.
    if (daemon_stalled_ || ClockAlignment::monotonic_now() >= deadline) {
      daemon_stalled_ = true;
      return false;
    }
    pollfd p{fd_, POLLOUT, 0};
    ::poll(&p, 1, 1);
  }
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
  // Room for bursts (a whole CUPTI buffer converts at once). Capped silently by the kernel;
  // a failure leaves the default, which still works, with more waits and drops.
  const int sndbuf = kSendBufferBytes;
  ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  fd_ = fd;
  daemon_stalled_ = false;
}

void DaemonTransport::disconnect() {
  // A connection that worked and broke (the daemon restarted) is retried at the next send,
  // not a reconnect interval after it was made.
  if (fd_ >= 0) next_connect_ns_ = 0;
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
