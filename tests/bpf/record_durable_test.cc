// `gputrace record` killed with SIGKILL keeps what it saw: the flush timer writes waiting
// records within --flush-interval, so a burst of GC pauses followed by a quiet host is in
// the capture although the recorder never reached its clean exit.
#include "../unit/child_process.h"
#include "gc_test_support.h"

#include "userspace/capture/capture.h"

#include <filesystem>

namespace gputrace::gc::testing {
namespace {

constexpr const char* kPython = "/usr/bin/python3.11";

// GC pause records of pid in the capture at path, read as `gputrace report` would.
Result<size_t> pauses_in_capture(const std::string& path, int pid) {
  auto reader = CaptureReader::open(path);
  if (!reader) return tl::unexpected(reader.error());
  size_t pauses = 0;
  auto summary = (*reader)->for_each([&](const Record& r) {
    if (r.header.kind == GT_EV_GC_PAUSE && static_cast<int>(r.header.pid) == pid) ++pauses;
  });
  if (!summary) return tl::unexpected(summary.error());
  return pauses;
}

TEST(RecordDurable, SigkillThreeSecondsAfterABurstOfFiftyGcPausesLosesNone) {
  ASSERT_EQ(access(kPython, X_OK), 0) << kPython << " is missing: scripts/install-deps.sh installs python3.11";
  char tmpl[] = "/tmp/gputrace-durable-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string capture = dir + "/burst.gtrace";
  Child py({kPython, source_path("tests/testprogs/gc/gc_burst.py"), "50"});
  ASSERT_GT(py.pid(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the interpreter start
  test::ChildProcess recorder({GPUTRACE_BINARY, "-v", "record", "-o", capture});
  ASSERT_TRUE(recorder.started());
  // -v names each process whose GC is traced: the burst must not start before this one is.
  const auto traced = recorder.wait_for_line(fmt::format("pid {}", py.pid()), std::chrono::seconds(60));
  ASSERT_TRUE(traced) << recorder.stderr_text();
  ASSERT_NE(traced->find("gc: tracing"), std::string::npos) << *traced;
  ASSERT_TRUE(recorder.wait_for_line("recording to", std::chrono::seconds(60))) << recorder.stderr_text();
  py.go();
  std::string line;
  for (char c = 0; c != '\n' && line.size() < 64 && read(py.stdout_fd(), &c, 1) == 1;) line.push_back(c);
  ASSERT_EQ(line, "done 50\n");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  recorder.signal(SIGKILL);
  const auto status = recorder.wait_exit(std::chrono::seconds(10));
  ASSERT_TRUE(status && WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL) << recorder.stderr_text();

  auto pauses = pauses_in_capture(capture, py.pid());
  ASSERT_TRUE(pauses) << pauses.error().describe();
  EXPECT_EQ(*pauses, 50u) << recorder.stderr_text();
  std::filesystem::remove_all(dir);
}

// A closed terminal sends SIGHUP: the recording ends as on SIGTERM, its last chunk written.
TEST(RecordDurable, SighupEndsTheRecordingCleanly) {
  char tmpl[] = "/tmp/gputrace-hup-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string capture = dir + "/hup.gtrace";
  test::ChildProcess recorder({GPUTRACE_BINARY, "record", "-o", capture, "--no-gc", "--duration", "60s"});
  ASSERT_TRUE(recorder.started());
  ASSERT_TRUE(recorder.wait_for_line("recording to", std::chrono::seconds(60))) << recorder.stderr_text();
  recorder.signal(SIGHUP);
  const auto status = recorder.wait_exit(std::chrono::seconds(20));
  ASSERT_TRUE(status) << "record did not stop on SIGHUP";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << recorder.stderr_text();
  EXPECT_TRUE(recorder.wait_for_line("gputrace: wrote", std::chrono::seconds(1))) << recorder.stderr_text();
  auto reader = CaptureReader::open(capture);
  ASSERT_TRUE(reader) << reader.error().describe();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gputrace::gc::testing
