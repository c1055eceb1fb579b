// SeqpacketListener: the daemon's AF_UNIX SOCK_SEQPACKET socket for CUPTI batches from
// processes that no USDT probe reaches. Each datagram is one batch. The peer of every
// connection is identified by SO_PEERCRED (pid and uid as the kernel recorded them at
// connect) and checked against a policy; each datagram then carries the sender's own
// credentials (SO_PASSCRED: the process that sent it, which differs from the connecting one
// after a fork or a passed descriptor), checked again where they differ, and passed along
// with it: the daemon attributes a batch to that pid, never to what the batch claims.
//
// The socket is writable by every local user, so everything read here is untrusted: the
// number of connections is bounded, oversize datagrams are dropped and counted.
#pragma once

#include "userspace/gpu/uid_budget.h"
#include "userspace/util/fd.h"
#include "userspace/util/result.h"

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace gputrace {

struct PeerPolicy {
  std::optional<uid_t> only_uid;              // accept only this user's processes
  std::function<bool(pid_t)> accept_pid;      // e.g. "is this the process being recorded"
};

// What one local user may take of the socket: any user can connect, so the limits are per
// uid as well as in total (docs/cupti.md, "Limits on the socket").
struct ListenerLimits {
  size_t max_clients = 256;
  size_t max_clients_per_uid = 32;
  // A library sends its status as soon as it connects: a connection silent this long holds
  // a slot for nothing and is closed (a library that has something later reconnects).
  std::chrono::milliseconds silent_timeout{10'000};
  uint64_t bytes_per_second_per_uid = 8u << 20;  // sustained; real CUPTI streams stay far below
  uint64_t burst_bytes_per_uid = 32u << 20;
};

struct ListenerStats {
  uint64_t connections = 0;
  uint64_t refused_peer = 0;     // SO_PEERCRED failed, pid invisible (0), or policy said no
  uint64_t refused_too_many = 0; // connection limit reached
  uint64_t refused_uid_limit = 0; // the connecting user already held max_clients_per_uid
  uint64_t closed_silent = 0;    // connections closed for sending nothing within silent_timeout
  uint64_t over_budget = 0;      // datagrams dropped: their user was over its byte budget
  uint64_t over_budget_bytes = 0;
  uint64_t oversize = 0;         // datagram longer than the largest batch
  uint64_t empty = 0;            // datagram of no bytes (no batch is empty)
  uint64_t refused_sender = 0;   // datagram from an invisible pid, or a sender the policy excludes
  uint64_t datagrams = 0;
};

class SeqpacketListener {
 public:
  using DatagramSink = std::function<void(std::span<const std::byte> datagram, pid_t peer_pid, uid_t peer_uid)>;

  // Creates the socket at path (its directory must exist, and be one only root can write:
  // the socket is made 0666 by path); a stale socket there is replaced, a live one is an
  // EADDRINUSE error, anything else at path is an error.
  static Result<SeqpacketListener> bind(const std::string& path, PeerPolicy policy, ListenerLimits limits = {});

  SeqpacketListener(SeqpacketListener&&) noexcept = default;
  SeqpacketListener& operator=(SeqpacketListener&&) noexcept = default;
  ~SeqpacketListener();

  // Waits up to timeout_ms, then accepts new peers and reads pending datagrams (at most 256
  // per peer, so one busy sender cannot starve the rest); returns how many it delivered.
  Result<size_t> poll_once(int timeout_ms, const DatagramSink& sink);

  int fd() const { return listen_fd_.get(); }
  const std::string& path() const { return path_; }
  size_t clients() const { return clients_.size(); }
  const ListenerStats& stats() const { return stats_; }

 private:
  struct Client {
    Fd fd;
    pid_t pid;
    uid_t uid;
    std::chrono::steady_clock::time_point connected;
    bool spoke = false;  // has sent a datagram
  };
  SeqpacketListener() = default;
  void accept_pending();
  size_t clients_of(uid_t uid) const;
  void close_silent(std::chrono::steady_clock::time_point now);
  bool read_pending(Client& c, const DatagramSink& sink, size_t& delivered);  // false: peer gone

  std::string path_;
  std::pair<dev_t, ino_t> inode_{};  // of the socket file bound at path_
  Fd listen_fd_;
  PeerPolicy policy_;
  ListenerLimits limits_;
  UidByteBudget budget_{0, 0};
  std::vector<Client> clients_;
  std::vector<std::byte> buffer_;
  ListenerStats stats_;
};

}  // namespace gputrace
