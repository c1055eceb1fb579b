// TopScreen: the terminal side of `gputrace top`, kept thin. It opens the terminal named by
// TERM with ncurses, reads keys (with a timeout, so the caller keeps tracing), and draws a
// top_layout Frame as one update: erase and draw into the window, then a single
// wnoutrefresh + doupdate, so the terminal only receives what changed (no flicker, cheap
// over ssh). KEY_RESIZE comes back as a key; the next draw uses the new size. The
// destructor (or restore()) gives the terminal back as it was; call restore() before
// printing anything else.
//
// While the screen is open, stderr goes into a pipe rather than onto the terminal (a log
// line written over the screen would leave it garbled until the next full redraw): the
// newest line shows in the status line, and restore() prints the lines it kept.
#pragma once

#include "views/top/top_layout.h"
#include "views/top/top_model.h"
#include "userspace/util/result.h"

#include <memory>
#include <optional>

namespace gputrace::top {

class TopScreen {
 public:
  // Fails, saying what to do, when stdin/stdout is not a terminal or TERM is unknown.
  static Result<std::unique_ptr<TopScreen>> open();
  ~TopScreen();
  TopScreen(const TopScreen&) = delete;
  TopScreen& operator=(const TopScreen&) = delete;

  // Waits up to timeout_ms for a key; nullopt when none came.
  std::optional<Key> read_key(int timeout_ms);
  void draw(TopModel& model);
  void restore();

 private:
  TopScreen() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace gputrace::top
