#include "views/top/top_screen.h"

#include <curses.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <string>

namespace gputrace::top {

// stderr, diverted into a non-blocking pipe while the screen is open. Writers never block
// (a full pipe drops the message, counted); the lines are drained at every key poll and draw.
class StderrCapture {
 public:
  bool start() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return false;
    saved_ = ::dup(STDERR_FILENO);
    if (saved_ < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return false;
    }
    std::fflush(stderr);
    ::dup2(fds[1], STDERR_FILENO);
    ::close(fds[1]);
    read_ = fds[0];
    return true;
  }
  // New complete lines since the last call go into kept_; returns the newest, if any.
  std::optional<std::string> drain() {
    if (read_ < 0) return std::nullopt;
    std::fflush(stderr);
    char buf[4096];
    ssize_t n;
    std::optional<std::string> newest;
    while ((n = ::read(read_, buf, sizeof(buf))) > 0) {
      partial_.append(buf, static_cast<size_t>(n));
      for (size_t nl; (nl = partial_.find('\n')) != std::string::npos; partial_.erase(0, nl + 1)) {
        newest = partial_.substr(0, nl);
        kept_.push_back(*newest);
        if (kept_.size() > kMaxKept) {
          kept_.pop_front();
          ++dropped_;
        }
      }
    }
    return newest;
  }
  // Puts stderr back and prints what was kept.
  void stop() {
    if (read_ < 0) return;
    drain();
    if (!partial_.empty()) kept_.push_back(partial_);
    ::dup2(saved_, STDERR_FILENO);
    ::close(saved_);
    ::close(read_);
    read_ = -1;
    if (dropped_) std::fprintf(stderr, "gputrace top: %zu earlier messages not kept\n", dropped_);
    for (const auto& line : kept_) std::fprintf(stderr, "%s\n", line.c_str());
  }

 private:
  static constexpr size_t kMaxKept = 200;
  int saved_ = -1;
  int read_ = -1;
  std::string partial_;
  std::deque<std::string> kept_;
  size_t dropped_ = 0;
};

struct TopScreen::Impl {
  SCREEN* screen = nullptr;
  bool colors = false;
  bool open = false;
  StderrCapture stderr_capture;
  std::optional<std::string> last_message;
};

namespace {

enum Pair : short { kTitle = 1, kSelected, kCritical, kWarning, kInfo, kAlert, kPrompt };

attr_t attr_of(Style s, bool colors) {
  auto pair = [&](short p, attr_t fallback) { return colors ? static_cast<attr_t>(COLOR_PAIR(p)) : fallback; };
  switch (s) {
    case Style::Normal: return A_NORMAL;
    case Style::Title: return A_BOLD | pair(kTitle, 0);
    case Style::Header: return A_REVERSE;
    case Style::Selected: return A_BOLD | pair(kSelected, A_REVERSE);
    case Style::Critical: return A_BOLD | pair(kCritical, 0);
    case Style::Warning: return pair(kWarning, A_BOLD);
    case Style::Info: return pair(kInfo, 0);
    case Style::Dim: return A_DIM;
    case Style::Alert: return A_BOLD | pair(kAlert, A_REVERSE);
    case Style::Prompt: return A_BOLD | pair(kPrompt, 0);
  }
  return A_NORMAL;
}

std::optional<Key> key_of(int ch) {
  switch (ch) {
    case ERR: return std::nullopt;
    case KEY_UP: return Key{KeyKind::Up};
    case KEY_DOWN: return Key{KeyKind::Down};
    case KEY_PPAGE: return Key{KeyKind::PageUp};
    case KEY_NPAGE: return Key{KeyKind::PageDown};
    case KEY_HOME: return Key{KeyKind::Home};
    case KEY_END: return Key{KeyKind::End};
    case KEY_ENTER:
    case '\n':
    case '\r': return Key{KeyKind::Enter};
    case 27: return Key{KeyKind::Escape};
    case KEY_BACKSPACE:
    case 127:
    case 8: return Key{KeyKind::Backspace};
    case KEY_RESIZE: return Key{KeyKind::Resize};
    default: return ch >= 0 && ch < 256 ? std::optional<Key>(Key::chr(ch)) : std::nullopt;
  }
}

}  // namespace

Result<std::unique_ptr<TopScreen>> TopScreen::open() {
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
    return fail("gputrace top needs a terminal on stdin and stdout: use --batch for logs and pipes");
  const char* term = std::getenv("TERM");
  if (!term || !*term) return fail("TERM is not set: set it (e.g. TERM=xterm-256color) or use --batch");
  std::unique_ptr<TopScreen> s(new TopScreen());
  s->impl_ = std::make_unique<Impl>();
  // newterm rather than initscr: initscr exits the process when TERM is unknown.
  s->impl_->screen = newterm(term, stdout, stdin);
  if (!s->impl_->screen)
    return fail("TERM '{}' is not in the terminfo database: set TERM to a known terminal (xterm-256color, "
                "screen, tmux-256color) or use --batch",
                term);
  s->impl_->open = true;
  s->impl_->stderr_capture.start();  // without it, log lines could garble the screen: still usable
  set_term(s->impl_->screen);
  cbreak();
  noecho();
  nonl();
  intrflush(stdscr, FALSE);
  keypad(stdscr, TRUE);
  set_escdelay(25);  // Esc closes panes: do not wait a second for an escape sequence
  curs_set(0);
  if (has_colors()) {
    start_color();
    use_default_colors();  // -1: the terminal's own background, as over ssh people expect
    init_pair(kTitle, COLOR_CYAN, -1);
    init_pair(kSelected, COLOR_BLACK, COLOR_CYAN);
    init_pair(kCritical, COLOR_RED, -1);
    init_pair(kWarning, COLOR_YELLOW, -1);
    init_pair(kInfo, COLOR_BLUE, -1);
    init_pair(kAlert, COLOR_WHITE, COLOR_RED);
    init_pair(kPrompt, COLOR_GREEN, -1);
    s->impl_->colors = true;
  }
  return s;
}

TopScreen::~TopScreen() { restore(); }

void TopScreen::restore() {
  if (!impl_ || !impl_->open) return;
  curs_set(1);
  endwin();
  delscreen(impl_->screen);
  impl_->open = false;
  std::fflush(stdout);
  impl_->stderr_capture.stop();
}

std::optional<Key> TopScreen::read_key(int timeout_ms) {
  if (auto message = impl_->stderr_capture.drain()) impl_->last_message = std::move(message);
  wtimeout(stdscr, timeout_ms);
  const int ch = wgetch(stdscr);
  // After a resize, or Ctrl-L, repaint every cell: what the terminal shows may no longer be
  // what ncurses believes it shows (a wrapped line, another program's output).
  if (ch == KEY_RESIZE || ch == 12) {
    clearok(curscr, TRUE);
    return Key{KeyKind::Resize};
  }
  return key_of(ch);
}

void TopScreen::draw(TopModel& model) {
  if (auto message = impl_->stderr_capture.drain()) impl_->last_message = std::move(message);
  if (impl_->last_message) {  // the newest log line, where the status goes
    model.set_status(*impl_->last_message);
    impl_->last_message.reset();
  }
  int rows = 0, cols = 0;
  getmaxyx(stdscr, rows, cols);
  const Frame frame = layout_frame(model, LayoutOptions{.width = cols, .height = rows});
  werase(stdscr);
  for (size_t y = 0; y < frame.lines.size() && static_cast<int>(y) < rows; ++y) {
    // The bottom-right cell is left alone: writing it scrolls some terminals.
    int room = static_cast<int>(y) == rows - 1 ? cols - 1 : cols;
    wmove(stdscr, static_cast<int>(y), 0);
    for (const Segment& seg : frame.lines[y].segments) {
      if (room <= 0) break;
      wattrset(stdscr, attr_of(seg.style, impl_->colors));
      const int n = std::min(room, static_cast<int>(seg.text.size()));
      waddnstr(stdscr, seg.text.c_str(), n);
      room -= n;
    }
  }
  wattrset(stdscr, A_NORMAL);
  if (frame.cursor_row >= 0) {
    curs_set(1);
    wmove(stdscr, frame.cursor_row, frame.cursor_col);
  } else {
    curs_set(0);
  }
  wnoutrefresh(stdscr);
  doupdate();
}

}  // namespace gputrace::top
