#include "userspace/cli/report_requests.h"

#include "exporters/report/report_files.h"

#include <signal.h>

#include <atomic>

namespace gputrace {
namespace {

std::atomic<bool> g_report_requested{false};

}  // namespace

void install_report_request_handler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_report_requested = true; };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &sa, nullptr);
}

bool take_report_request() { return g_report_requested.exchange(false); }

Result<std::vector<std::string>> write_report_dir(const std::string& dir, Pipeline& pipeline) {
  static const Timeline kNoTimeline;
  const Timeline* timeline = pipeline.timeline();
  return write_report_files(dir, pipeline.snapshot(), timeline ? *timeline : kNoTimeline);
}

}  // namespace gputrace
