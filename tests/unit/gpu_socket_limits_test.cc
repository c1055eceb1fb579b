// The CUPTI socket's per-user limits: one local user cannot lock others out by holding every
// connection, cannot hold slots with silent connections, and cannot flood a capture with
// valid batches; what is refused or dropped is counted.
#include "userspace/gpu/seqpacket_listener.h"
#include "userspace/gpu/uid_budget.h"
#include "temp_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <poll.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>
#include <vector>

namespace gputrace {
namespace {

using ::gputrace::test_support::TempDir;
using namespace std::chrono_literals;
constexpr uid_t kNobody = 65534;

Fd connect_to(const std::string& path, bool nonblocking = false) {
  Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) fd.reset();
  return fd;
}

const auto kIgnore = [](std::span<const std::byte>, pid_t, uid_t) {};

// Another user opening `count` connections and keeping them until killed, while the listener
// accepts (a full backlog would stall the child's connect()s otherwise).
pid_t hog_connections(SeqpacketListener& l, const std::string& path, int count) {
  int ready[2];
  EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  const pid_t child = ::fork();
  if (child == 0) {
    if (::setresgid(kNobody, kNobody, kNobody) != 0 || ::setresuid(kNobody, kNobody, kNobody) != 0) _exit(1);
    std::vector<Fd> held;
    for (int tries = 0; static_cast<int>(held.size()) < count && tries < 100000; ++tries) {
      Fd fd = connect_to(path, true);
      if (fd.valid()) held.push_back(std::move(fd));
      else ::usleep(100);
    }
    (void)!::write(ready[1], "r", 1);
    ::pause();
    _exit(0);
  }
  ::close(ready[1]);
  pollfd p{ready[0], POLLIN, 0};
  for (int i = 0; i < 1000 && ::poll(&p, 1, 0) == 0; ++i) EXPECT_TRUE(l.poll_once(5, kIgnore));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(l.poll_once(5, kIgnore));
  ::close(ready[0]);
  return child;
}

void end(pid_t child) {
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

TEST(CuptiSocketLimits, OneUsersConnectionsDoNotLockOtherUsersOut) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to connect as another user";
  TempDir dir;
  ::chmod(dir.path().c_str(), 0755);
  auto l = SeqpacketListener::bind(dir.file("s"), {}, {.max_clients = 16, .max_clients_per_uid = 4});
  ASSERT_TRUE(l) << l.error().describe();
  const pid_t hog = hog_connections(*l, dir.file("s"), 16);
  EXPECT_EQ(l->clients(), 4u);
  EXPECT_EQ(l->stats().refused_uid_limit, 12u);
  Fd mine = connect_to(dir.file("s"));
  ASSERT_TRUE(mine.valid());
  ASSERT_EQ(::send(mine.get(), "kernel", 6, 0), 6);
  size_t heard = 0;
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(l->poll_once(20, [&](std::span<const std::byte>, pid_t pid, uid_t) { heard += pid == ::getpid(); }));
  EXPECT_EQ(heard, 1u);
  end(hog);
}

TEST(CuptiSocketLimits, ASilentConnectionIsClosedAndOneThatSpokeIsKept) {
  TempDir dir;
  auto l = SeqpacketListener::bind(dir.file("s"), {}, {.silent_timeout = 50ms});
  ASSERT_TRUE(l);
  Fd silent = connect_to(dir.file("s")), talker = connect_to(dir.file("s"));
  ASSERT_EQ(::send(talker.get(), "status", 6, 0), 6);
  ASSERT_TRUE(l->poll_once(20, kIgnore));
  EXPECT_EQ(l->clients(), 2u);
  std::this_thread::sleep_for(80ms);
  ASSERT_TRUE(l->poll_once(20, kIgnore));
  EXPECT_EQ(l->clients(), 1u);
  EXPECT_EQ(l->stats().closed_silent, 1u);
  char byte;
  EXPECT_EQ(::recv(silent.get(), &byte, 1, MSG_DONTWAIT), 0);  // the peer sees the close
}

TEST(CuptiSocketLimits, ByteBudgetDropsAFloodAndCountsIt) {
  TempDir dir;
  auto l = SeqpacketListener::bind(dir.file("s"), {}, {.bytes_per_second_per_uid = 1000, .burst_bytes_per_uid = 4000});
  ASSERT_TRUE(l);
  Fd c = connect_to(dir.file("s"));
  const std::string batch(1000, 'x');
  for (int i = 0; i < 20; ++i) ASSERT_EQ(::send(c.get(), batch.data(), batch.size(), 0), 1000);
  size_t delivered = 0;
  for (int i = 0; i < 3; ++i) delivered += *l->poll_once(20, kIgnore);
  EXPECT_GE(delivered, 4u);
  EXPECT_LE(delivered, 6u);  // the burst, and what the polls (ms, or a stall of a second) refilled
  EXPECT_EQ(l->stats().over_budget + delivered, 20u);
  EXPECT_EQ(l->stats().over_budget_bytes, l->stats().over_budget * 1000);
}

// SEQPACKET reads an empty datagram as 0 bytes, like the peer's shutdown: the credentials that
// come with every datagram tell them apart. The peer stays connected; the datagram is counted.
TEST(CuptiSocketLimits, AnEmptyDatagramIsCountedAndDoesNotCloseThePeer) {
  TempDir dir;
  auto l = SeqpacketListener::bind(dir.file("s"), {});
  ASSERT_TRUE(l);
  Fd c = connect_to(dir.file("s"));
  ASSERT_EQ(::send(c.get(), "", 0, 0), 0);
  ASSERT_EQ(::send(c.get(), "batch", 5, 0), 5);
  size_t delivered = 0;
  for (int i = 0; i < 3; ++i) delivered += *l->poll_once(20, kIgnore);
  EXPECT_EQ(delivered, 1u);
  EXPECT_EQ(l->stats().empty, 1u);
  EXPECT_EQ(l->clients(), 1u);
  c.reset();
  ASSERT_TRUE(l->poll_once(20, kIgnore));
  EXPECT_EQ(l->clients(), 0u);  // a real shutdown still closes it
}

TEST(UidByteBudget, EachUserHasTheirOwnBucketRefilledAtTheRate) {
  UidByteBudget b(1000, 2000);
  const auto t0 = UidByteBudget::Clock::now();
  EXPECT_TRUE(b.take(1, 2000, t0));
  EXPECT_FALSE(b.take(1, 1, t0));
  EXPECT_TRUE(b.take(2, 2000, t0));  // another user is untouched
  EXPECT_TRUE(b.take(1, 500, t0 + 500ms));
  EXPECT_FALSE(b.take(1, 600, t0 + 1s));
  EXPECT_TRUE(b.take(1, 2000, t0 + 10s));  // refills to the burst, no further
  EXPECT_FALSE(b.take(1, 1, t0 + 10s));
  UidByteBudget unlimited(0, 0);
  EXPECT_TRUE(unlimited.take(1, ~0ull, t0));
}

}  // namespace
}  // namespace gputrace
