// Load shedding on a live recording (root): `gputrace record` reads host pressure from a
// directory laid out like /proc (--pressure-proc) whose CPU counters this test drives busy,
// then calm; meanwhile a CPython process collects garbage. The capture must show the shedder
// stepping up to level 3 and back to 0, the GC pause-begin markers BPF gave up while
// shedding counted, and every finished pause still recorded.
#include "../unit/child_process.h"
#include "temp_dir.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

namespace gputrace {
namespace {

// Rewrites DIR/stat every 100 ms: cumulative ticks, 95 % busy until `calm_at`, then 5 %.
class FakeCpu {
 public:
  FakeCpu(std::filesystem::path dir, std::chrono::steady_clock::time_point calm_at)
      : dir_(std::move(dir)), calm_at_(calm_at), thread_([this] { run(); }) {}
  ~FakeCpu() {
    stop_ = true;
    thread_.join();
  }

 private:
  void run() {
    uint64_t busy = 0, idle = 0;
    while (!stop_) {
      const bool pressed = std::chrono::steady_clock::now() < calm_at_;
      busy += pressed ? 95 : 5;
      idle += pressed ? 5 : 95;
      std::ofstream(dir_ / "stat.tmp") << "cpu  " << busy << " 0 0 " << idle << " 0 0 0 0 0 0\n";
      std::filesystem::rename(dir_ / "stat.tmp", dir_ / "stat");  // never read half-written
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  std::filesystem::path dir_;
  std::chrono::steady_clock::time_point calm_at_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(LoadShedding, ARecordingShedsUnderPressureAndRecovers) {
  test_support::TempDir dir;
  const auto proc = dir.path() / "proc";
  std::filesystem::create_directories(proc / "pressure");
  std::ofstream(proc / "meminfo") << "MemTotal: 1000000 kB\nMemAvailable: 600000 kB\n";
  std::ofstream(proc / "pressure" / "memory") << "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
  std::ofstream(proc / "stat") << "cpu  0 0 0 0 0 0 0 0 0 0\n";
  FakeCpu cpu(proc, std::chrono::steady_clock::now() + std::chrono::seconds(7));
  const std::string capture = dir.file("shed.gtrace");
  // Steps of 1 s: up to level 3 by ~4 s, calm from 7 s, back to 0 by ~11 s.
  test::ChildProcess record({GPUTRACE_BINARY, "record", "-o", capture, "--shed-after", "1s", "--shed-recover", "1s",
                             "--pressure-proc", proc.string(), "--", "/usr/bin/python3", "-c",
                             "import gc, time\n"
                             "end = time.time() + 13\n"
                             "while time.time() < end:\n"
                             "    gc.collect(); time.sleep(0.02)\n"});
  ASSERT_TRUE(record.started());
  const auto status = record.wait_exit(std::chrono::seconds(60));
  ASSERT_TRUE(status) << record.stderr_text();
  ASSERT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << record.stderr_text();
  EXPECT_NE(record.stderr_text().find("shedding level 3"), std::string::npos) << record.stderr_text();
  EXPECT_NE(record.stderr_text().find("host pressure passed"), std::string::npos) << record.stderr_text();

  const auto [rc, out] = test::run_shell(std::string(GPUTRACE_BINARY) + " report --format json " + capture);
  ASSERT_EQ(rc, 0) << out;
  const auto report = nlohmann::json::parse(out);
  ASSERT_TRUE(report.contains("shedding")) << out;
  EXPECT_EQ(report["shedding"]["level"], 0);
  EXPECT_EQ(report["shedding"]["changes"], 6);  // 1, 2, 3, 2, 1, 0
  EXPECT_GT(report["shedding"]["shed_s"].get<double>(), 4.0);
  std::map<std::string, uint64_t> losses;
  for (const auto& l : report["losses"]) losses[l["name"]] = l["count"];
  EXPECT_GT(losses["gc_markers_shed"], 0u) << "no pause-begin marker was shed at level 3";
  uint64_t pauses = 0;
  for (const auto& p : report["gc_pauses"]) pauses += p["pauses"].get<uint64_t>();
  EXPECT_GT(pauses, 100u) << "finished pauses must be recorded while shedding";
}

}  // namespace
}  // namespace gputrace
