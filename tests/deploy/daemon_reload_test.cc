// `gputrace daemon --config FILE` and SIGHUP, end to end on a replay (no root): the file's
// options, the command line winning over them, a reload moving /metrics to another port and
// the textfile elsewhere without losing state, a broken file leaving the running
// configuration alone, a restart-only change named in the log, SIGHUP without --config.
#include "child_process.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

namespace gputrace {
namespace {

const std::string kCapture = std::string(GPUTRACE_SOURCE_DIR) + "/tests/fixtures/scenarios/guest-6.12-strict.gtrace";

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The body of GET /metrics on 127.0.0.1:port, or "" when nothing answers.
std::string scrape(uint16_t port) {
  return test::run_shell("curl -sf http://127.0.0.1:" + std::to_string(port) + "/metrics").second;
}

class DaemonConfigFile : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!test::have_program("curl")) GTEST_SKIP() << "curl is not installed";
    char tmpl[] = "/tmp/gputrace-reload-XXXXXX";
    dir_ = mkdtemp(tmpl);
    conf_ = dir_ + "/gputrace.conf";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write_conf(const std::string& text) {
    const std::string tmp = conf_ + ".tmp";
    std::ofstream(tmp) << text;
    std::filesystem::rename(tmp, conf_);  // whole, as an editor saves it
  }
  std::string dir_, conf_;
};

TEST_F(DaemonConfigFile, FileOptionsTheCommandLineOverridesAndReload) {
  const uint16_t a = free_port(), b = free_port(), c = free_port();
  write_conf(fmt::format("# test\nlisten = 127.0.0.1:{}\ninterval = 1s\ntextfile = {}/one.prom\n", a, dir_));
  test::ChildProcess daemon({GPUTRACE_BINARY, "daemon", "--config", conf_, "--replay", kCapture});
  ASSERT_TRUE(daemon.wait_for_line("metrics at http://127.0.0.1:" + std::to_string(a), std::chrono::seconds(20)))
      << daemon.stderr_text();
  const std::string before = scrape(a);
  ASSERT_NE(before.find("gputrace_findings_total{kind=\"dma_leak_unbind\""), std::string::npos);

  // where metrics go changes on SIGHUP; the state (the replay's findings) stays
  write_conf(fmt::format("listen = 127.0.0.1:{}\ninterval = 1s\ntextfile = {}/two.prom\nall-devices = true\n", b, dir_));
  daemon.signal(SIGHUP);
  ASSERT_TRUE(daemon.wait_for_line("reloaded " + conf_, std::chrono::seconds(10))) << daemon.stderr_text();
  EXPECT_TRUE(daemon.wait_for_line("--all-devices changed", std::chrono::seconds(1))) << "a restart-only change is named";
  const std::string after = scrape(b);
  EXPECT_NE(after.find("gputrace_findings_total{kind=\"dma_leak_unbind\""), std::string::npos) << after.substr(0, 200);
  EXPECT_EQ(scrape(a), "") << "the old port is closed";
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/two.prom"));

  // a broken file: logged, and the daemon goes on as it was
  write_conf(fmt::format("listen = 127.0.0.1:{}\nlisten-on = nowhere\n", c));
  daemon.signal(SIGHUP);
  ASSERT_TRUE(daemon.wait_for_line("'listen-on' is not an option", std::chrono::seconds(10))) << daemon.stderr_text();
  EXPECT_TRUE(daemon.wait_for_line("goes on as configured before", std::chrono::seconds(1)));
  EXPECT_NE(scrape(b), "");
  EXPECT_EQ(scrape(c), "");
  EXPECT_TRUE(daemon.running());
  daemon.signal(SIGTERM);
  const auto status = daemon.wait_exit(std::chrono::seconds(20));
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << daemon.stderr_text();
}

TEST_F(DaemonConfigFile, TheCommandLineWinsOverTheFile) {
  const uint16_t file_port = free_port(), flag_port = free_port();
  write_conf(fmt::format("listen = 127.0.0.1:{}\n", file_port));
  test::ChildProcess daemon({GPUTRACE_BINARY, "daemon", "--config", conf_, "--replay", kCapture, "--listen",
                             "127.0.0.1:" + std::to_string(flag_port)});
  ASSERT_TRUE(daemon.wait_for_line("metrics at http://127.0.0.1:" + std::to_string(flag_port), std::chrono::seconds(20)))
      << daemon.stderr_text();
  EXPECT_EQ(scrape(file_port), "");
}

TEST_F(DaemonConfigFile, MistakesStopTheStartWithFileAndLine) {
  write_conf("listen = 127.0.0.1:0\n\nall-devices = perhaps\n");
  const auto [rc, out] = test::run_shell(std::string(GPUTRACE_BINARY) + " daemon --replay " + kCapture + " --config " + conf_);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find(conf_ + ":3: 'all-devices' is a flag"), std::string::npos) << out;
  const auto [rc2, out2] = test::run_shell(std::string(GPUTRACE_BINARY) + " daemon --replay " + kCapture +
                                           " --config " + dir_ + "/missing.conf");
  EXPECT_EQ(rc2, 2);
  EXPECT_NE(out2.find("cannot read the configuration file"), std::string::npos) << out2;
}

TEST_F(DaemonConfigFile, SighupWithoutAFileIsNoted) {
  test::ChildProcess daemon({GPUTRACE_BINARY, "daemon", "--replay", kCapture, "--listen", "127.0.0.1:0"});
  ASSERT_TRUE(daemon.wait_for_line("metrics at", std::chrono::seconds(20))) << daemon.stderr_text();
  daemon.signal(SIGHUP);
  EXPECT_TRUE(daemon.wait_for_line("without --config FILE", std::chrono::seconds(10))) << daemon.stderr_text();
  EXPECT_TRUE(daemon.running()) << "SIGHUP's default action would have ended it";
}

}  // namespace
}  // namespace gputrace
