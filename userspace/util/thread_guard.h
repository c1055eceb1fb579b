// guarded_thread_body: the top-level guard of a helper thread (an exporter's queue, a textfile
// writer). An exception that escapes a thread's function calls std::terminate and takes the
// whole daemon with it, tracing and all; here it is logged and only that thread ends.
#pragma once

#include "userspace/util/log.h"

#include <exception>
#include <string>
#include <utility>

namespace gputrace {

template <class Fn>
void guarded_thread_body(const std::string& what, Fn&& fn) noexcept {
  try {
    std::forward<Fn>(fn)();
  } catch (const std::exception& e) {
    log_error("{} stopped on an unexpected error: {} (a bug: please report it); the rest goes on", what, e.what());
  } catch (...) {
    log_error("{} stopped on an unexpected error (a bug: please report it); the rest goes on", what);
  }
}

}  // namespace gputrace
