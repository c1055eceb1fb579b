// The attach control socket (control_server.h) in one process, driven through real sockets:
// a lease per connection that asked for one, gone when the connection closes; answers that
// carry the handler's status; announce and detach requests; malformed requests dropped.
#include "cupti/control_server.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

namespace gputrace::cupti {
namespace {

class CountingHandler : public ControlServer::Handler {
 public:
  gt_attach_reply status() override {
    gt_attach_reply r{};
    r.state = GT_GPU_STATE_ACTIVE;
    r.records = 42;
    return r;
  }
  void announce() override { ++announced; }
  int announced = 0;
};

int connect_to(const std::string& name) {
  const int fd = ::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  const auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  EXPECT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len), 0) << std::strerror(errno);
  return fd;
}

void send_request(int fd, uint16_t op, uint32_t flags) {
  const gt_attach_request req{GT_ATTACH_MAGIC, GT_ATTACH_ABI, op, flags, 0};
  ASSERT_EQ(::send(fd, &req, sizeof(req), 0), static_cast<ssize_t>(sizeof(req)));
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(server.open(error)) << error;
  }
  // One poll round, as the worker does.
  bool serve() {
    std::vector<pollfd> fds;
    server.add_pollfds(fds);
    ::poll(fds.data(), fds.size(), 200);
    return server.serve(fds, handler);
  }
  gt_attach_reply answer(int fd) {
    serve();
    gt_attach_reply r{};
    EXPECT_EQ(::recv(fd, &r, sizeof(r), 0), static_cast<ssize_t>(sizeof(r)));
    return r;
  }
  ControlServer server;
  CountingHandler handler;
};

TEST_F(ControlServerTest, ALeaseLastsAsLongAsItsConnection) {
  EXPECT_EQ(server.name().rfind("gputrace-cupti.", 0), 0u) << server.name();
  const int a = connect_to(server.name());
  serve();  // accepts
  send_request(a, GT_ATTACH_HELLO, GT_ATTACH_LEASE);
  const gt_attach_reply r = answer(a);
  EXPECT_EQ(r.magic, GT_ATTACH_MAGIC);
  EXPECT_EQ(r.leases, 1u);
  EXPECT_EQ(r.records, 42u);
  EXPECT_EQ(r.pid, static_cast<uint32_t>(::getpid()));
  const int b = connect_to(server.name());
  serve();
  send_request(b, GT_ATTACH_HELLO, 0);  // a look, no lease
  EXPECT_EQ(answer(b).leases, 1u);
  EXPECT_TRUE(server.ever_leased());
  ::close(a);
  serve();
  EXPECT_EQ(server.leases(), 0u);
  ::close(b);
}

TEST_F(ControlServerTest, AnnounceAndReannounceReachTheHandler) {
  const int fd = connect_to(server.name());
  serve();
  send_request(fd, GT_ATTACH_HELLO, GT_ATTACH_LEASE | GT_ATTACH_REANNOUNCE);
  answer(fd);
  send_request(fd, GT_ATTACH_ANNOUNCE, 0);
  EXPECT_EQ(answer(fd).op, GT_ATTACH_ANNOUNCE);
  EXPECT_EQ(handler.announced, 2);
  ::close(fd);
}

TEST_F(ControlServerTest, DetachIsAnsweredThenReported) {
  const int fd = connect_to(server.name());
  serve();
  send_request(fd, GT_ATTACH_DETACH, 0);
  EXPECT_TRUE(serve());
  gt_attach_reply r{};
  EXPECT_EQ(::recv(fd, &r, sizeof(r), 0), static_cast<ssize_t>(sizeof(r)));
  EXPECT_EQ(r.op, GT_ATTACH_DETACH);
  server.close_all();
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);  // closed: how a detach tells its end
  ::close(fd);
}

TEST_F(ControlServerTest, AMalformedRequestEndsItsConnectionWithoutALease) {
  const int fd = connect_to(server.name());
  serve();
  const char junk[16] = "not a request";
  ::send(fd, junk, sizeof(junk), 0);
  serve();
  char c;
  EXPECT_EQ(::recv(fd, &c, 1, 0), 0);
  EXPECT_EQ(server.leases(), 0u);
  ::close(fd);
}

TEST(ControlServerPeers, RootTheOwnerAndTheOverflowUserMayControlIt) {
  EXPECT_TRUE(ControlServer::peer_allowed(0, 1000));
  EXPECT_TRUE(ControlServer::peer_allowed(1000, 1000));
  EXPECT_TRUE(ControlServer::peer_allowed(65534, 1000));
  EXPECT_FALSE(ControlServer::peer_allowed(1001, 1000));
}

}  // namespace
}  // namespace gputrace::cupti
