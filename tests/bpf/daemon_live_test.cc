// `gputrace daemon` tracing this host for real (root): /metrics serves what the kernel
// collectors saw, passes `promtool check metrics` when promtool is installed, lists every
// loss counter, writes OTLP/JSON lines, and the daemon stops cleanly on SIGTERM.
#include "../unit/child_process.h"
#include "../unit/http_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace gputrace {
namespace {

std::string metric_value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l.starts_with(series + " ")) return l.substr(series.size() + 1);
  return "";
}

TEST(DaemonLive, ServesPromtoolCleanMetricsOfThisHost) {
  char tmpl[] = "/tmp/gputrace-daemon-live-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  const std::string otlp_file = dir + "/otlp.jsonl";
  test::ChildProcess daemon({GPUTRACE_BINARY, "daemon", "--listen", "127.0.0.1:0", "--interval", "1s", "--duration", "60s",
                             "--otlp-file", otlp_file, "--no-gc"});
  ASSERT_TRUE(daemon.started());
  const auto line = daemon.wait_for_line("metrics at http://", std::chrono::seconds(60));
  ASSERT_TRUE(line) << daemon.stderr_text();
  const std::string address = line->substr(line->find("http://") + 7, line->find("/metrics") - line->find("http://") - 7);
  // process events to count: a child that forks, execs and exits
  ASSERT_EQ(std::system("/bin/sh -c 'exit 0'"), 0);
  std::string text;
  for (int i = 0; i < 40; ++i) {  // the next interval's snapshot carries the child's records
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    text = test::body_of(test::http_get(test::port_of(address), "/metrics"));
    if (!metric_value(text, "gputrace_records_total{source=\"proc\"}").empty()) break;
  }
  EXPECT_NE(text.find("gputrace_build_info{version=\"" GPUTRACE_VERSION "\""), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE gputrace_losses_total counter"), std::string::npos) << text;
  EXPECT_FALSE(metric_value(text, "gputrace_losses_total{counter=\"ring_full_bulk\"}").empty()) << text;
  EXPECT_FALSE(metric_value(text, "gputrace_losses_total{counter=\"otlp_file_dropped_spans\"}").empty()) << text;
  const std::string proc = metric_value(text, "gputrace_records_total{source=\"proc\"}");
  ASSERT_FALSE(proc.empty()) << text;
  EXPECT_GT(std::stoull(proc), 0u);
  if (test::have_program("promtool")) {
    std::ofstream(dir + "/live.prom") << text;
    const auto [rc, out] = test::run_shell("promtool check metrics < " + dir + "/live.prom");
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out, "");
  }
  daemon.signal(SIGTERM);
  const auto status = daemon.wait_exit(std::chrono::seconds(30));
  ASSERT_TRUE(status) << "the daemon did not stop on SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << daemon.stderr_text();
  std::ifstream in(otlp_file);
  size_t lines = 0;
  for (std::string l; std::getline(in, l); ++lines)
    EXPECT_TRUE(nlohmann::json::parse(l).contains("resourceMetrics") || nlohmann::json::parse(l).contains("resourceLogs") ||
                nlohmann::json::parse(l).contains("resourceSpans"));
  EXPECT_GE(lines, 2u);  // the first interval's metrics and the final ones at least
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gputrace
