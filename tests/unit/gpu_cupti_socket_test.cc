#include "userspace/gpu/cupti_socket.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

namespace gputrace {
namespace {

using ::gputrace::test_support::TempDir;

// Searchable by every user even when root's umask (sudo from a 077 user) says otherwise.
TEST(CuptiSocket, CreatesItsDirectoryAndServesThere) {
  TempDir tmp;
  const std::string dir = tmp.file("run-gputrace");
  const mode_t old_mask = ::umask(077);
  auto l = serve_cupti_socket(dir + "/cupti.sock", {});
  ::umask(old_mask);
  ASSERT_TRUE(l) << l.error().describe();
  struct stat st {};
  ASSERT_EQ(::lstat(dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0755u);
  ASSERT_EQ(::lstat((dir + "/cupti.sock").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
}

// A directory others can write lets them swap the socket for their own between runs.
TEST(CuptiSocket, RefusesADirectoryOthersCanChange) {
  TempDir tmp;
  const std::string dir = tmp.file("shared");
  ASSERT_EQ(::mkdir(dir.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(dir.c_str(), 01777), 0);
  auto refused = serve_cupti_socket(dir + "/cupti.sock", {});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("writable by no one else"), std::string::npos);

  ASSERT_EQ(::symlink(tmp.path().c_str(), (tmp.file("link")).c_str()), 0);
  refused = serve_cupti_socket(tmp.file("link/cupti.sock"), {});
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("not a directory"), std::string::npos);

  EXPECT_FALSE(serve_cupti_socket("relative/cupti.sock", {}));
}

}  // namespace
}  // namespace gputrace
