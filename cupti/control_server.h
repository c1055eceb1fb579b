// ControlServer: the library's end of `gputrace attach`'s control channel (bpf/gpu_attach.h):
// an abstract AF_UNIX SOCK_SEQPACKET socket in the process's network namespace, the
// tracers' connections to it, and the leases they hold. A lease lasts as long as its
// connection: when a tracer exits, however it exits, the kernel closes its end and the lease
// is gone. Peers are checked with SO_PEERCRED: root, the process's own user, or the
// overflow user (root of an enclosing user namespace seen from inside it).
//
// Not thread-safe: only the library's worker thread uses it.
#pragma once

extern "C" {
#include "bpf/gpu_attach.h"
}

#include <poll.h>
#include <sys/types.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

namespace gputrace::cupti {

class ControlServer {
 public:
  struct Handler {
    virtual ~Handler() = default;
    virtual gt_attach_reply status() = 0;  // state, CUPTI result, holder, records
    virtual void announce() = 0;           // kernel names, devices and status again
  };

  ControlServer() = default;
  ~ControlServer() { close_all(); }
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  // Binds a fresh abstract name; false with the reason in `error`.
  bool open(std::string& error);
  bool is_open() const { return listener_ >= 0; }
  const std::string& name() const { return name_; }  // without the leading NUL

  // The descriptors to wait on, appended to `fds`.
  void add_pollfds(std::vector<pollfd>& fds) const;
  // After poll(): accepts tracers, answers their requests, drops the ones that left. True
  // when one asked to detach (its answer already sent).
  bool serve(const std::vector<pollfd>& fds, Handler& handler);

  size_t leases() const;
  bool ever_leased() const { return ever_leased_; }
  void close_all();
  // In a fork()ed child: the descriptors are the parent's to serve.
  void forget_after_fork();

  static bool peer_allowed(uid_t peer, uid_t self) { return peer == 0 || peer == self || peer == kOverflowUid; }
  static constexpr uid_t kOverflowUid = 65534;
  static constexpr size_t kMaxConnections = 16;

 private:
  struct Connection {
    int fd = -1;
    bool lease = false;
  };
  void accept_all();
  bool answer(Connection& c, Handler& handler);  // false: the connection is done

  int listener_ = -1;
  std::string name_;
  // Fixed slots (fd -1: free): a fork()ed child closes them without touching the heap.
  std::array<Connection, kMaxConnections> connections_{};
  bool ever_leased_ = false;
};

}  // namespace gputrace::cupti
