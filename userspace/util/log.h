// Leveled logging to stderr. Levels and what they mean:
//   DEBUG   internals, only with -vv (libbpf's own debug output lands here)
//   V1      progress a user may want with -v (what attached, sizes chosen)
//   HINT    a suggestion that helps the user get more from gputrace
//   WARNING something is degraded but the run goes on (a hook did not attach)
//   ERROR   the requested operation failed
//   BUG     an internal invariant broke: please report it
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace gputrace {

enum class LogLevel { Debug, V1, Hint, Warning, Error, Bug };

void set_log_verbosity(int verbosity);  // 0: HINT and up, 1: V1 and up, 2: everything
bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view text);

template <class... Args>
void log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
  if (log_enabled(level)) log_line(level, fmt::format(f, std::forward<Args>(args)...));
}

#define GT_LOG_FN(name, level)                                   \
  template <class... Args>                                       \
  void name(fmt::format_string<Args...> f, Args&&... args) {     \
    log(level, f, std::forward<Args>(args)...);                  \
  }
GT_LOG_FN(log_debug, LogLevel::Debug)
GT_LOG_FN(log_v1, LogLevel::V1)
GT_LOG_FN(log_hint, LogLevel::Hint)
GT_LOG_FN(log_warning, LogLevel::Warning)
GT_LOG_FN(log_error, LogLevel::Error)
GT_LOG_FN(log_bug, LogLevel::Bug)
#undef GT_LOG_FN

}  // namespace gputrace
