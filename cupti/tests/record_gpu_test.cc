// `gputrace record -- CMD` with GPU activity, end to end on this kernel (needs root): the real
// gputrace binary, the real library in the emitter, and the capture read back.
//  - over USDT: the command's batches are kept; those of a process outside its tree, which
//    the probe reaches just the same, are dropped and counted;
//  - over the socket: a process with its own copy of the library (as in a container) is not
//    reached by the probe, so the library falls back to the socket the recording serves (its
//    own, so a daemon serving the shared one cannot take the command's batches).
#include "userspace/capture/capture.h"
#include "userspace/tables/process_table.h"
#include "temp_dir.h"
#include "handmade_buffer.h"
#include "subprocess.h"

extern "C" {
#include "bpf/gpu.h"
#include "bpf/host.h"
}

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>

namespace gputrace::cupti {
namespace {

using ::gputrace::test_support::TempDir;

namespace fs = std::filesystem;

struct Captured {
  std::map<uint32_t, int> kernels_by_pid;
  std::map<std::string, uint64_t> losses;  // the last value of each counter
};

Captured read_capture(const fs::path& file) {
  Captured c;
  auto reader = CaptureReader::open(file);
  if (!reader) {
    ADD_FAILURE() << reader.error().describe();
    return c;
  }
  auto read = (*reader)->for_each([&](const Record& r) {
    if (r.header.kind == GT_EV_GPU_KERNEL) ++c.kernels_by_pid[r.header.pid];
    if (r.header.kind == GT_EV_LOSS) {
      const auto e = r.as<gt_loss_event>();
      c.losses[fixed_string(e.name, sizeof(e.name))] = e.value;
    }
  });
  if (!read) ADD_FAILURE() << read.error().describe();
  return c;
}

class RecordGpu : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the bpf tier runs as root";
  }
  TempDir dir;
};

TEST_F(RecordGpu, KeepsTheCommandsActivityAndDropsOtherProcesses) {
  const fs::path capture = dir.path() / "usdt.gtrace";
  const fs::path started = dir.path() / "started";
  const fs::path go = dir.path() / "go";
  // The command marks that it runs (so recording is on), waits until the outsider is done
  // (bounded: 20 s), then emits.
  const std::string script = "touch " + started.string() + "; i=0; while [ ! -e " + go.string() +
                             " ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; exec " GPUTRACE_BATCH_EMITTER;
  auto record = testing::start_program(
      {GPUTRACE_BIN, "record", "-o", capture.string(), "--", "/bin/sh", "-c", script}, {});
  for (int i = 0; i < 300 && !fs::exists(started); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(fs::exists(started)) << "gputrace record never started its command";
  auto outsider = testing::start_program({GPUTRACE_BATCH_EMITTER}, {"GPUTRACE_CUPTI_SOCKET="});
  const int outsider_pid = outsider.pid;
  const int outsider_exit = testing::wait_program(outsider).exit_code;
  std::ofstream(go) << "go";
  ASSERT_EQ(outsider_exit, 0);
  const auto recorded = testing::wait_program(record);
  ASSERT_EQ(recorded.exit_code, 0) << recorded.err;

  const Captured c = read_capture(capture);
  ASSERT_EQ(c.kernels_by_pid.size(), 1u) << "GPU activity of more than one process was kept";
  EXPECT_NE(c.kernels_by_pid.begin()->first, static_cast<uint32_t>(outsider_pid));
  EXPECT_EQ(c.kernels_by_pid.begin()->second, 3);
  EXPECT_GE(c.losses.at("gpu_batches_unwanted"), 1u);
  EXPECT_EQ(c.losses.at("gpu_probe_ring_full"), 0u);
}

TEST_F(RecordGpu, ServesTheSocketForALibraryTheProbeDoesNotReach) {
  const fs::path capture = dir.path() / "socket.gtrace";
  const fs::path copy_dir = dir.path() / "container-lib";
  fs::create_directory(copy_dir);
  fs::copy_file(GPUTRACE_CUPTI_LIBRARY, copy_dir / fs::path(GPUTRACE_CUPTI_LIBRARY).filename());
  const std::string script = "exec env LD_LIBRARY_PATH=" + copy_dir.string() + " " GPUTRACE_BATCH_EMITTER;
  const auto recorded = testing::run_program(
      {GPUTRACE_BIN, "record", "-o", capture.string(), "--", "/bin/sh", "-c", script}, {});
  ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
  EXPECT_EQ(recorded.err.find("over the socket will not be received"), std::string::npos) << recorded.err;
  // The command ran the copy, which the probe (attached to the original) cannot reach.
  EXPECT_NE(recorded.out.find("library=" + copy_dir.string() + "/"), std::string::npos) << recorded.out;

  const Captured c = read_capture(capture);
  ASSERT_EQ(c.kernels_by_pid.size(), 1u);
  EXPECT_EQ(c.kernels_by_pid.begin()->second, 3);
  EXPECT_EQ(c.losses.at("gpu_batches_unwanted"), 0u);
}

}  // namespace
}  // namespace gputrace::cupti
