// The commands' top-level guard and their stdout: an unexpected exception ends a command with
// status 1 after the stack unwound (a capture keeps what was recorded), and output that could
// not be written (a full disk) is a failure, not exit 0.
#include "userspace/capture/capture.h"
#include "userspace/cli/cli.h"
#include "userspace/util/thread_guard.h"
#include "capture_test_support.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stdexcept>
#include <thread>

namespace gputrace::capture_testing {
namespace {

TEST_F(Capture, GuardTurnsAnEscapedExceptionIntoStatusOneAndTheCaptureKeepsItsRecords) {
  const auto records = SampleRecords().take(10);
  const std::string file = path("guarded.gtrace");
  const int status = run_guarded("record", [&]() -> int {
    auto writer = CaptureWriter::create(file, sample_host());
    if (!writer) return 3;
    for (const auto& r : records)
      if (!(*writer)->append(record_of(r))) return 4;
    throw std::runtime_error("something nobody expected");
  });
  EXPECT_EQ(status, 1);
  auto reader = CaptureReader::open(file);
  ASSERT_TRUE(reader);
  auto back = read_back(**reader);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->summary.records, 10u);
}

// A helper thread's escaped exception would std::terminate the daemon: the guard ends only it.
TEST(ThreadGuard, AnExceptionEndsOnlyItsThread) {
  bool after = false;
  std::thread t([&] {
    guarded_thread_body("test thread", [] { throw std::runtime_error("boom"); });
    after = true;
  });
  t.join();
  EXPECT_TRUE(after);
}

TEST(CliStdout, OutputThatCannotBeWrittenExitsNonZero) {
  const pid_t child = ::fork();
  if (child == 0) {
    const int full = ::open("/dev/full", O_WRONLY | O_CLOEXEC);
    if (full < 0 || ::dup2(full, STDOUT_FILENO) < 0) _exit(99);
    char arg0[] = "gputrace", arg1[] = "--version";
    char* argv[] = {arg0, arg1, nullptr};
    _exit(run_cli(2, argv));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 1);
}

}  // namespace
}  // namespace gputrace::capture_testing
