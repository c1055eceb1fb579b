#include "userspace/gpu/seqpacket_listener.h"
#include "temp_dir.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

namespace gputrace {
namespace {

using ::gputrace::test_support::TempDir;

Fd connect_to(const std::string& path) {
  Fd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) fd.reset();
  return fd;
}

TEST(SeqpacketListener, ReceivesDatagramsWithThePeersCredentials) {
  TempDir dir;
  auto l = SeqpacketListener::bind(dir.file("s"), {});
  ASSERT_TRUE(l) << l.error().describe();
  struct stat st {};
  ASSERT_EQ(::stat((dir.file("s")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  Fd c = connect_to(dir.file("s"));
  ASSERT_TRUE(c.valid());
  ASSERT_EQ(::send(c.get(), "hello", 5, 0), 5);
  ASSERT_EQ(::send(c.get(), "world!", 6, 0), 6);
  std::vector<std::string> got;
  pid_t peer = 0;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(l->poll_once(50, [&](std::span<const std::byte> d, pid_t pid, uid_t uid) {
      got.emplace_back(reinterpret_cast<const char*>(d.data()), d.size());
      peer = pid;
      EXPECT_EQ(uid, ::getuid());
    }));
  EXPECT_EQ(got, (std::vector<std::string>{"hello", "world!"}));
  EXPECT_EQ(peer, ::getpid());
  EXPECT_EQ(l->clients(), 1u);
  c.reset();
  ASSERT_TRUE(l->poll_once(50, [](auto, auto, auto) {}));
  EXPECT_EQ(l->clients(), 0u);
}

TEST(SeqpacketListener, AppliesThePeerPolicyAndTheClientLimit) {
  TempDir dir;
  PeerPolicy not_me{.only_uid = std::nullopt, .accept_pid = [](pid_t p) { return p != ::getpid(); }};
  auto refusing = SeqpacketListener::bind(dir.file("a"), not_me);
  ASSERT_TRUE(refusing);
  Fd c = connect_to(dir.file("a"));
  ASSERT_TRUE(refusing->poll_once(50, [](auto, auto, auto) { ADD_FAILURE() << "refused peer was heard"; }));
  EXPECT_EQ(refusing->stats().refused_peer, 1u);

  auto one = SeqpacketListener::bind(dir.file("b"), {}, {.max_clients = 1});
  ASSERT_TRUE(one);
  Fd c1 = connect_to(dir.file("b")), c2 = connect_to(dir.file("b"));
  ASSERT_TRUE(one->poll_once(50, [](auto, auto, auto) {}));
  EXPECT_EQ(one->clients(), 1u);
  EXPECT_EQ(one->stats().refused_too_many, 1u);
}

// Sends text on c from a forked child; returns the child's pid once it has exited.
pid_t send_from_child(const Fd& c, const char* text) {
  const pid_t child = ::fork();
  if (child == 0) _exit(::send(c.get(), text, std::strlen(text), 0) > 0 ? 0 : 1);
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  return child;
}

// A socket inherited over fork speaks for the child, not for the process that connected.
TEST(SeqpacketListener, AttributesEachDatagramToItsSender) {
  TempDir dir;
  auto open = SeqpacketListener::bind(dir.file("open"), {});
  const pid_t me = ::getpid();
  auto only_me = SeqpacketListener::bind(dir.file("me"), {.only_uid = std::nullopt, .accept_pid = [me](pid_t p) { return p == me; }});
  ASSERT_TRUE(open && only_me);
  Fd a = connect_to(dir.file("open")), b = connect_to(dir.file("me"));
  ASSERT_TRUE(open->poll_once(50, [](auto, auto, auto) {}));  // accepted: credentials from here on
  ASSERT_TRUE(only_me->poll_once(50, [](auto, auto, auto) {}));

  const pid_t child = send_from_child(a, "from the child");
  std::vector<pid_t> senders;
  ASSERT_TRUE(open->poll_once(50, [&](auto, pid_t pid, auto) { senders.push_back(pid); }));
  EXPECT_EQ(senders, std::vector<pid_t>{child});

  send_from_child(b, "not wanted");
  ASSERT_EQ(::send(b.get(), "mine", 4, 0), 4);
  senders.clear();
  ASSERT_TRUE(only_me->poll_once(50, [&](auto, pid_t pid, auto) { senders.push_back(pid); }));
  EXPECT_EQ(senders, std::vector<pid_t>{me});
  EXPECT_EQ(only_me->stats().refused_sender, 1u);
}

TEST(SeqpacketListener, DropsOversizeDatagrams) {
  TempDir dir;
  auto l = SeqpacketListener::bind(dir.file("s"), {});
  ASSERT_TRUE(l);
  Fd c = connect_to(dir.file("s"));
  std::vector<char> big(GT_GPU_BATCH_MAX_BYTES + 8, 'x');
  ASSERT_EQ(::send(c.get(), big.data(), big.size(), 0), static_cast<ssize_t>(big.size()));
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(l->poll_once(50, [](auto, auto, auto) { ADD_FAILURE() << "oversize datagram delivered"; }));
  EXPECT_EQ(l->stats().oversize, 1u);
}

TEST(SeqpacketListener, ReplacesAStaleSocketButNothingElse) {
  TempDir dir;
  { auto first = SeqpacketListener::bind(dir.file("s"), {}); }
  // A stale socket file left by a crashed daemon:
  Fd stale(::socket(AF_UNIX, SOCK_SEQPACKET, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, (dir.file("s")).c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(::bind(stale.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)), 0);
  EXPECT_TRUE(SeqpacketListener::bind(dir.file("s"), {}));

  std::ofstream(dir.file("file")) << "not a socket";
  auto refused = SeqpacketListener::bind(dir.file("file"), {});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("not a socket"), std::string::npos);
  ASSERT_EQ(::symlink((dir.file("file")).c_str(), (dir.file("link")).c_str()), 0);
  EXPECT_FALSE(SeqpacketListener::bind(dir.file("link"), {}));
  std::ifstream still(dir.file("file"));
  std::string content;
  std::getline(still, content);
  EXPECT_EQ(content, "not a socket");
}

// A second gputrace must not take the socket of one that still serves it.
TEST(SeqpacketListener, LeavesALiveSocketToItsOwner) {
  TempDir dir;
  auto first = SeqpacketListener::bind(dir.file("s"), {});
  ASSERT_TRUE(first);
  auto second = SeqpacketListener::bind(dir.file("s"), {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another gputrace"), std::string::npos);
  EXPECT_TRUE(connect_to(dir.file("s")).valid());
}

TEST(SeqpacketListener, IsWritableByEveryLocalProcess) {
  TempDir dir;
  const mode_t old_mask = ::umask(077);
  auto l = SeqpacketListener::bind(dir.file("s"), {});
  const mode_t after_bind = ::umask(old_mask);
  ASSERT_TRUE(l);
  struct stat st {};
  ASSERT_EQ(::lstat((dir.file("s")).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0666u);
  EXPECT_EQ(after_bind, 077u);  // the process-wide umask is left alone
}

}  // namespace
}  // namespace gputrace
