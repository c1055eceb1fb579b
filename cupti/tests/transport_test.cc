// DaemonTransport's socket route against a real SOCK_SEQPACKET listener in this process: how
// it rides out a burst that outruns the daemon, and how little a stalled daemon costs.
// (No USDT tracer is attached to this test binary: the library picks the socket.)
#include "cupti/transport.h"

#include "cupti/clock_alignment.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

extern "C" {
#include "bpf/gpu.h"
}

namespace gputrace::cupti {
namespace {

struct Listener {
  std::string dir;
  std::string path;
  int fd = -1;

  Listener() {
    char tmpl[] = "/tmp/gputrace-transport-XXXXXX";
    dir = ::mkdtemp(tmpl);
    path = dir + "/cupti.sock";
    fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size());
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 4) != 0) {
      ADD_FAILURE() << "cannot listen on " << path << ": " << std::strerror(errno);
    }
  }
  ~Listener() {
    ::close(fd);
    ::unlink(path.c_str());
    ::rmdir(dir.c_str());
  }
};

std::vector<std::byte> a_batch() { return std::vector<std::byte>(GT_GPU_BATCH_MAX_BYTES, std::byte{0x5a}); }

uint64_t wmem_max() {
  std::ifstream f("/proc/sys/net/core/wmem_max");
  uint64_t v = 0;
  f >> v;
  return v;
}

// A burst of 200 full batches against a daemon that reads one every 200 us: without waiting
// for room, every batch past what the socket buffer holds would be dropped.
TEST(DaemonTransport, ABurstWaitsForASlowDaemonInsteadOfDropping) {
  Listener listener;
  DaemonTransport transport(listener.path);
  ASSERT_TRUE(transport.active());
  const int conn = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  constexpr int kBatches = 200;
  std::atomic<int> received{0};
  std::thread daemon([&] {
    std::vector<char> buf(GT_GPU_BATCH_MAX_BYTES + 1);
    while (::recv(conn, buf.data(), buf.size(), 0) > 0) {
      ++received;
      ::usleep(200);
    }
  });
  const auto batch = a_batch();
  int sent = 0;
  for (int i = 0; i < kBatches; ++i) sent += transport.send(batch);
  ::shutdown(conn, SHUT_WR);
  for (int i = 0; i < 500 && received < sent; ++i) ::usleep(10'000);
  ::shutdown(conn, SHUT_RDWR);
  daemon.join();
  ::close(conn);
  EXPECT_EQ(sent, kBatches);
  EXPECT_EQ(received.load(), kBatches);
}

// The socket buffer is raised as far as the kernel allows (net.core.wmem_max): the default
// (net.core.wmem_default, ~208 KiB) holds about a dozen batches.
TEST(DaemonTransport, TheSocketHoldsMoreThanTheDefaultBuffer) {
  if (wmem_max() < 4 * 212992) GTEST_SKIP() << "net.core.wmem_max is too small here to show a difference";
  Listener listener;
  DaemonTransport transport(listener.path);
  ASSERT_TRUE(transport.active());
  const int conn = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);  // and never read
  ASSERT_GE(conn, 0);
  const auto batch = a_batch();
  int before_full = 0;
  while (before_full < 1000 && transport.send(batch)) ++before_full;
  EXPECT_GT(before_full, 40);
  ::close(conn);
}

// A daemon that stopped reading costs one short wait, not one per batch: these sends run on
// CUPTI's buffer thread, and CUPTI drops records while its buffers wait.
TEST(DaemonTransport, AStalledDaemonCostsOneWait) {
  Listener listener;
  DaemonTransport transport(listener.path);
  ASSERT_TRUE(transport.active());
  const int conn = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);  // and never read
  ASSERT_GE(conn, 0);
  const auto batch = a_batch();
  while (transport.send(batch)) {
  }
  const uint64_t start = ClockAlignment::monotonic_now();
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(transport.send(batch));
  const uint64_t elapsed_ms = (ClockAlignment::monotonic_now() - start) / 1'000'000;
  EXPECT_LT(elapsed_ms, 50u);
  // Once the daemon reads again, batches flow again.
  std::vector<char> buf(GT_GPU_BATCH_MAX_BYTES + 1);
  for (int i = 0; i < 8; ++i) ASSERT_GT(::recv(conn, buf.data(), buf.size(), 0), 0);
  EXPECT_TRUE(transport.send(batch));
  ::close(conn);
}

}  // namespace
}  // namespace gputrace::cupti
