#include "userspace/attach/library_control.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <cstring>
#include <thread>

namespace gputrace::attach {
namespace {

bool same_network_namespace(pid_t pid) {
  struct stat ours {}, theirs {};
  if (::stat("/proc/self/ns/net", &ours) != 0 || ::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &theirs) != 0)
    return true;  // cannot tell: try from here
  return ours.st_ino == theirs.st_ino && ours.st_dev == theirs.st_dev;
}

// A socket connected to the abstract name, made inside `netns` when given (abstract names
// belong to a network namespace). Returns the fd or -errno.
int connect_abstract(const std::string& name, int netns) {
  if (netns >= 0 && ::setns(netns, CLONE_NEWNET) != 0) return -errno;
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), std::min(name.size(), sizeof(addr.sun_path) - 2));
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    const int e = errno;
    ::close(fd);
    return -e;
  }
  return fd;
}

}  // namespace

Result<LibraryControl> LibraryControl::connect(pid_t pid, const std::string& name) {
  if (name.empty() || name.size() >= GT_ATTACH_CONTROL_MAX) return fail("process {} has no usable control socket name", pid);
  int fd = -1;
  if (same_network_namespace(pid)) {
    fd = connect_abstract(name, -1);
  } else {
    Fd netns(::open(fmt::format("/proc/{}/ns/net", pid).c_str(), O_RDONLY | O_CLOEXEC));
    if (!netns.valid()) return fail_errno(errno, "cannot open process {}'s network namespace", pid);
    // setns() changes the calling thread only: a thread of its own, gone right after.
    std::thread t([&] { fd = connect_abstract(name, netns.get()); });
    t.join();
  }
  if (fd < 0) return fail_errno(-fd, "cannot connect to the library's control socket @{} in process {}", name, pid);
  return LibraryControl(Fd(fd));
}

Result<gt_attach_reply> LibraryControl::request(uint16_t op, uint32_t flags, std::chrono::milliseconds limit) {
  gt_attach_request req{GT_ATTACH_MAGIC, GT_ATTACH_ABI, op, flags, 0};
  if (::send(fd_.get(), &req, sizeof(req), MSG_NOSIGNAL) != sizeof(req))
    return fail_errno(errno, "cannot reach the library's control socket");
  pollfd p{fd_.get(), POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(limit.count())) <= 0) return fail("the library did not answer within {} ms", limit.count());
  gt_attach_reply reply{};
  const ssize_t n = ::recv(fd_.get(), &reply, sizeof(reply), 0);
  if (n == 0) return fail("the library closed its control socket (it is detaching)");
  if (n != sizeof(reply) || reply.magic != GT_ATTACH_MAGIC || reply.abi != GT_ATTACH_ABI)
    return fail("the library's control socket sent a malformed answer");
  return reply;
}

bool LibraryControl::closed(std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    pollfd p{fd_.get(), POLLIN, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - std::chrono::steady_clock::now());
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count()))) <= 0) return false;
    char buf[sizeof(gt_attach_reply)];
    const ssize_t n = ::recv(fd_.get(), buf, sizeof(buf), MSG_DONTWAIT);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) return true;
  }
}

std::string describe_reply(const gt_attach_reply& r) {
  switch (r.state) {
    case GT_GPU_STATE_ACTIVE:
      return fmt::format("tracing ({} record{} so far, {} lease{} held)", r.records, r.records == 1 ? "" : "s",
                         r.leases, r.leases == 1 ? "" : "s");
    case GT_GPU_STATE_OTHER_SUBSCRIBER:
      return fmt::format("not tracing: CUPTI is held by {}", std::string(r.holder, strnlen(r.holder, sizeof(r.holder))));
    case GT_GPU_STATE_CUPTI_FAILED: return fmt::format("not tracing: a CUPTI call failed ({})", r.cupti_result);
    case GT_GPU_STATE_DETACHED: return "detached";
    case GT_GPU_STATE_EXITING: return "exiting";
    default: return fmt::format("state {}", r.state);
  }
}

}  // namespace gputrace::attach
