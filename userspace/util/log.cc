#include "userspace/util/log.h"

#include <atomic>
#include <cstdio>

namespace gputrace {
namespace {
std::atomic<int> g_verbosity{0};

const char* prefix(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return "debug: ";
    case LogLevel::V1: return "";
    case LogLevel::Hint: return "hint: ";
    case LogLevel::Warning: return "warning: ";
    case LogLevel::Error: return "error: ";
    case LogLevel::Bug: return "BUG (please report): ";
  }
  return "";
}
}  // namespace

void set_log_verbosity(int verbosity) { g_verbosity = verbosity; }

bool log_enabled(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return g_verbosity >= 2;
    case LogLevel::V1: return g_verbosity >= 1;
    default: return true;
  }
}

void log_line(LogLevel level, std::string_view text) {
  std::fprintf(stderr, "gputrace: %s%.*s\n", prefix(level), static_cast<int>(text.size()), text.data());
}

}  // namespace gputrace
