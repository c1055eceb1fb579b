// Transport: hands finished batches to whoever traces this process.
//
// DaemonTransport fires the USDT probe gputrace:batch(ptr, len) when a tracer has attached
// to it (its semaphore is non-zero: no tracer, no work), and otherwise sends each batch as one
// datagram on the daemon's AF_UNIX SOCK_SEQPACKET socket, if that socket exists. Sending never
// blocks the application's own threads (it runs on CUPTI's buffer thread or the flush thread):
// a full socket gets a short wait (kSendWaitMs) for the daemon to read, then the batch is
// dropped and the caller counts it. After a wait that timed out, no more waits until a send
// goes through again, so a stalled daemon costs the process one wait, not one per batch.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>

namespace gputrace::cupti {

class Transport {
 public:
  virtual ~Transport() = default;
  // True when a batch sent now would reach someone. Cheap: called once per CUPTI buffer.
  virtual bool active() = 0;
  // False when the batch could not be handed over.
  virtual bool send(std::span<const std::byte> batch) = 0;
  // Changes whenever the receiver may have changed (a tracer attached, the socket
  // reconnected): what was sent once (kernel names, status) must be sent again.
  virtual uint64_t epoch() const = 0;
};

class DaemonTransport final : public Transport {
 public:
  // socket_path empty: USDT only.
  explicit DaemonTransport(std::string socket_path);
  ~DaemonTransport() override;
  DaemonTransport(const DaemonTransport&) = delete;
  DaemonTransport& operator=(const DaemonTransport&) = delete;

  // A `gputrace attach` may name another socket than the environment did.
  void set_socket_path(const std::string& path);

  bool active() override;
  bool send(std::span<const std::byte> batch) override;
  uint64_t epoch() const override { return epoch_; }

  // After fork(): the child must not write into its parent's connection (the daemon
  // attributes a connection to the pid that opened it).
  void forget_connection_after_fork();

 private:
  enum class Route { None, Usdt, Socket };
  Route choose_route();
  void try_connect();
  void disconnect();
  bool send_datagram(std::span<const std::byte> batch);

  std::string socket_path_;
  std::mutex mu_;
  int fd_ = -1;
  uint64_t next_connect_ns_ = 0;
  Route route_ = Route::None;
  uint64_t epoch_ = 0;
  bool daemon_stalled_ = false;  // the last wait for room timed out
  uint64_t second_epoch_at_ns_ = 0;  // the USDT route's epoch again, once its BPF program surely runs
};

// How long a send waits for room on a full socket before the batch is dropped.
inline constexpr int kSendWaitMs = 5;
// SO_SNDBUF asked for: the kernel caps it at net.core.wmem_max (and doubles it). The default
// (wmem_default, ~208 KiB) holds about a dozen 16-KiB batches; one 1-MiB CUPTI buffer is ~70.
inline constexpr int kSendBufferBytes = 4 << 20;

// The USDT probe site, out of line so the library carries exactly one gputrace:batch note.
void fire_batch_probe(const void* batch, size_t len);
bool batch_probe_attached();

}  // namespace gputrace::cupti
