// What `gputrace top` draws, as plain styled text: a Frame of lines for a terminal of a given
// size (or of unlimited height for --batch). The ncurses screen maps the styles to
// attributes and draws the frame in one refresh; --batch prints its text. Everything a
// person sees is decided here, so tests check it without a terminal.
//
// Layout, top to bottom: title (host, kernel, source, time), event rates and losses,
// findings count, one line per traced device (leaks, faults, PCIe link current vs max, IOMMU
// mode, maps/s, outstanding), the process table, the findings pane (or the selected
// process's detail, or help), and a status line: PAUSED, the filter, notes, then as many
// key hints as fit (or the filter prompt). --batch puts the notes under the title.
#pragma once

#include "views/top/top_model.h"

#include <string>
#include <vector>

namespace gputrace::top {

enum class Style { Normal, Title, Header, Selected, Critical, Warning, Info, Dim, Alert, Prompt };

struct Segment {
  std::string text;
  Style style = Style::Normal;
};

struct Line {
  std::vector<Segment> segments;
  Line& add(std::string text, Style style = Style::Normal);
  std::string text() const;
  size_t width() const;
};

struct Frame {
  std::vector<Line> lines;
  int cursor_row = -1;  // where the terminal cursor goes (the filter prompt), -1: hidden
  int cursor_col = -1;
  std::string text() const;  // lines joined by '\n', trailing spaces trimmed
};

struct LayoutOptions {
  int width = 80;
  int height = 24;     // 0: as tall as the content (--batch)
  bool batch = false;  // no status line, every device, row and up to 20 findings
};

// Minimum terminal size for the interactive layout; smaller shows a one-line notice.
inline constexpr int kMinWidth = 50;
inline constexpr int kMinHeight = 12;

// Columns that fit in width, in table order (lower-priority ones dropped first).
std::vector<Column> visible_columns(int width);
// One cell's text (not padded), e.g. "2.31%", "1.2k", "4.0 MiB", "-".
std::string cell_text(const ProcessView& row, Column column);

// Non-printable and non-ASCII bytes become '?', so one byte is one terminal cell.
std::string printable(const std::string& s);

// Lays the model out. Not const: keeps the selected row within the visible part.
Frame layout_frame(TopModel& model, const LayoutOptions& options);

}  // namespace gputrace::top
