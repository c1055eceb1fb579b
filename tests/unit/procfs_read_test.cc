// The /proc reader under the failures a busy host produces: a process reaped between open and
// read (ESRCH, which once escaped libstdc++'s filebuf as std::__ios_failure and aborted
// `record`), a file that fails to read (EISDIR here), short reads, and a size bound.
#include "userspace/host/procfs.h"

#include <gtest/gtest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace gputrace {
namespace {

TEST(ProcfsRead, AProcessReapedBetweenOpenAndReadIsAnErrorNotAnException) {
  const pid_t child = ::fork();
  if (child == 0) _exit(0);
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);  // a zombie: stat opens
  const std::string path = "/proc/" + std::to_string(child) + "/stat";
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);  // reaped: the open file's task is gone
  Result<std::string> text = std::string();
  EXPECT_NO_THROW(text = read_proc_fd(fd, path));
  ASSERT_FALSE(text);
  EXPECT_EQ(text.error().errnum, ESRCH) << text.error().describe();
  ::close(fd);
  EXPECT_FALSE(read_proc_stat(child));  // and by pid: gone
}

TEST(ProcfsRead, AFileThatFailsToReadGivesNothingAndNeverThrows) {
  const auto root = std::filesystem::temp_directory_path() / ("gputrace-procfs-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "77" / "stat");  // read(2) of a directory: EISDIR
  std::filesystem::create_directories(root / "77" / "status");
  EXPECT_NO_THROW(EXPECT_FALSE(read_proc_stat(77, root.string())));
  EXPECT_NO_THROW(EXPECT_EQ(read_ns_pid(77, root.string()), 77));
  std::filesystem::remove_all(root);
}

TEST(ProcfsRead, ShortReadsAreJoinedAndTheSizeIsBounded) {
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  std::thread writer([w = p[1]] {
    (void)!::write(w, "12 (a b) S ", 11);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    (void)!::write(w, "1 2 3", 5);
    ::close(w);
  });
  auto text = read_proc_fd(p[0], "pipe");
  writer.join();
  ::close(p[0]);
  ASSERT_TRUE(text);
  EXPECT_EQ(*text, "12 (a b) S 1 2 3");
  auto self = read_proc_file("/proc/self/maps", 100);
  ASSERT_TRUE(self);
  EXPECT_EQ(self->size(), 100u);
  auto missing = read_proc_file("/proc/0/stat");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errnum, ENOENT);
}

}  // namespace
}  // namespace gputrace
