#include "views/top/top_layout.h"

#include "userspace/util/units.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

namespace gputrace::top {
namespace {

constexpr size_t kBatchFindings = 20;
constexpr size_t kMaxHeaderDevices = 4;

Style severity_style(Severity s) {
  return s == Severity::Critical ? Style::Critical : s == Severity::Warning ? Style::Warning : Style::Info;
}

const char* severity_tag(Severity s) {
  return s == Severity::Critical ? "crit" : s == Severity::Warning ? "warn" : "info";
}

std::string pad(const std::string& s, int width, bool right) {
  if (width <= 0) return {};
  const auto w = static_cast<size_t>(width);
  if (s.size() >= w) return s.substr(0, w);
  return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

// Cuts a line to width cells.
Line clip(Line line, int width) {
  Line out;
  size_t left = width > 0 ? static_cast<size_t>(width) : 0;
  for (auto& seg : line.segments) {
    if (left == 0) break;
    if (seg.text.size() > left) seg.text.resize(left);
    left -= seg.text.size();
    out.segments.push_back(std::move(seg));
  }
  return out;
}

// A line filled to width in one style (headers, the selected row).
Line bar(const std::string& text, int width, Style style) {
  Line l;
  l.add(width > 0 ? pad(text, width, false) : text, style);
  return l;
}

std::string since(uint64_t ns, uint64_t origin) {
  return ns >= origin ? fmt::format("+{:.3f}s", static_cast<double>(ns - origin) / 1e9) : "-";
}

std::string gts(uint32_t mts) { return mts % 1000 == 0 ? fmt::format("{}GT/s", mts / 1000) : fmt::format("{:.1f}GT/s", mts / 1000.0); }

Line title_line(const TopModel& m) {
  const HostSnapshot& s = m.shown();
  Line l;
  l.add("gputrace top", Style::Title);
  l.add(fmt::format("  {}  kernel {}  {}", printable(s.source.hostname.empty() ? "?" : s.source.hostname),
                    printable(s.source.kernel.empty() ? "?" : s.source.kernel), printable(m.source())));
  l.add(fmt::format("  t {}  rates over {:.1f}s", s.taken_ns > s.first_ns ? since(s.taken_ns, s.first_ns) : "+0.000s",
                    m.rates().interval_s));
  return l;  // PAUSED is on the status line: a long source path would push it off an 80-column title
}

Line events_line(const TopModel& m) {
  const HostRates& r = m.rates();
  Line l;
  std::string sources;
  for (const auto& [source, rate] : r.per_source) sources += fmt::format("{}{} {}", sources.empty() ? "" : " ", source, human_rate(rate));
  l.add(fmt::format("events {}/s", human_rate(r.records_per_s)));
  if (!sources.empty()) l.add(fmt::format(" ({})", sources), Style::Dim);
  l.add("  losses ");
  if (r.losses_total == 0) {
    l.add(fmt::format("none ({} counters)", losses_by_name(m.shown().losses).size()));
  } else {
    std::string names;
    for (size_t i = 0; i < r.nonzero_losses.size() && i < 3; ++i)
      names += fmt::format("{}{} {}", i ? ", " : "", r.nonzero_losses[i].first, r.nonzero_losses[i].second);
    l.add(fmt::format("{} (+{}) {}", r.losses_total, r.losses_new, names), r.losses_new ? Style::Alert : Style::Warning);
  }
  // Late records were processed: not a loss, but worth knowing (a finding may come late).
  if (r.late_records) l.add(fmt::format("  late {} (processed)", r.late_records), Style::Dim);
  return l;
}

// Said while gputrace sheds work (and once it has): the screen is thinner than the host.
std::optional<Line> shedding_line(const HostSnapshot& s) {
  if (!s.shedding) return std::nullopt;
  const SheddingRow& r = *s.shedding;
  Line l;
  if (r.level == 0) {
    l.add(fmt::format("load shedding: none now ({} changes, {:.0f} s shed in all)", r.changes, r.shed_ns / 1e9),
          Style::Dim);
    return l;
  }
  l.add(fmt::format("LOAD SHEDDING level {} ({}): {} not recorded", r.level, r.reasons, fmt::join(r.shed, ", ")),
        Style::Warning);
  return l;
}

Line findings_summary_line(const TopModel& m) {
  const HostSnapshot& s = m.shown();
  auto count = [&](const char* severity) {
    auto it = s.findings_by_severity.find(severity);
    return it == s.findings_by_severity.end() ? uint64_t{0} : it->second;
  };
  const uint64_t crit = count("critical"), warn = count("warning"), info = count("info");
  Line l;
  l.add(fmt::format("findings {}", s.findings_total), crit ? Style::Critical : warn ? Style::Warning : Style::Normal);
  l.add(fmt::format(" ({} critical, {} warning, {} info)", crit, warn, info));
  std::string kinds;
  for (const auto& [kind, n] : s.findings_by_kind) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", kind, n);
  if (!kinds.empty()) l.add("  " + kinds, Style::Dim);
  l.add(fmt::format("  processes {}", m.total_processes()));
  return l;
}

// What is wrong comes first (leaks, faults, AER, a downtrained link), the rates and gauges
// after: an 80-column terminal cuts the line after about 50 cells of this.
Line device_line(const TopModel& m, const DeviceRow& d) {
  Line l;
  l.add(pad(printable(d.name), 13, false) + " ");
  l.add(pad(printable(d.driver.empty() ? "-" : d.driver), 12, false) + " ");
  l.add(d.gpu ? "GPU " : "    ", d.gpu ? Style::Title : Style::Normal);
  l.add(fmt::format(" leaks {}", d.dma_leaks), d.dma_leaks ? Style::Critical : Style::Normal);
  l.add(fmt::format("  faults {}", d.iommu_faults), d.iommu_faults ? Style::Critical : Style::Normal);
  if (d.aer_fatal || d.aer_nonfatal || d.aer_corrected)
    l.add(fmt::format("  aer {}/{}/{}", d.aer_corrected, d.aer_nonfatal, d.aer_fatal), Style::Warning);
  l.add("  link ");
  if (d.max_link_speed_mts) {
    if (d.link_downtrained) l.add("DOWNTRAINED ", Style::Alert);
    l.add(fmt::format("{} x{} of {} x{}", gts(d.link_speed_mts), d.link_width, gts(d.max_link_speed_mts), d.max_link_width));
  } else {
    l.add("-");
  }
  l.add(fmt::format("  iommu {}", d.iommu_mode));
  auto rate = m.rates().device_maps_per_s.find(d.name);
  l.add(fmt::format("  maps/s {}  outst {} ({})", human_rate(rate != m.rates().device_maps_per_s.end() ? rate->second : 0),
                    d.dma_outstanding, human_bytes(d.dma_outstanding_bytes)));
  return l;
}

std::string header_text(const std::vector<Column>& cols, const TopModel& m, int command_width) {
  std::string out;
  for (Column c : cols) {
    const ColumnSpec& s = spec(c);
    std::string title = s.title;
    if (c == m.sort_column()) title += m.descending() ? "v" : "^";
    const int w = c == Column::Command ? command_width : s.width;
    out += (out.empty() ? "" : " ") + pad(title, w, s.right_align && c != Column::Command);
  }
  return out;
}

std::string row_text(const std::vector<Column>& cols, const ProcessView& r, int command_width) {
  std::string out;
  for (Column c : cols) {
    const ColumnSpec& s = spec(c);
    const int w = c == Column::Command ? command_width : s.width;
    out += (out.empty() ? "" : " ") + pad(cell_text(r, c), w, s.right_align);
  }
  return out;
}

Line finding_line(const Finding& f, uint64_t origin) {
  Line l;
  l.add(fmt::format("[{}]", severity_tag(f.severity)), severity_style(f.severity));
  l.add(fmt::format(" {:>9} {} ", since(f.end_ns, origin), printable(std::string(f.kind_name()))));  // when it was concluded
  l.add(printable(f.message));
  return l;
}

// Two columns of keys where they fit (they are 98 cells wide), else one key a line, so a
// narrow terminal loses the column descriptions at the bottom, not half of the keys.
void help_lines(std::vector<Line>& out, int width) {
  auto add = [&](const std::string& text, Style style = Style::Normal) { out.push_back(Line{}.add(text, style)); };
  add("HELP  (any key closes it, q quits)", Style::Header);
  if (width <= 0 || width >= 100) {
    add("  q            quit                          p, space    pause / resume the display");
    add("  ?, h         this help                     /           filter rows (Enter applies, Esc cancels)");
    add("  s, >  S, <   sort by the next / previous column        r   reverse the order");
    add("  P N G D O L F  sort by pid, name, GC%, MAPS/s, OUTST, LEAKS, FIND (again: reverse)");
    add("  Up/Down, j/k, PgUp/PgDn, g  select a process          Enter  its detail (Enter/Esc closes)");
    add("  Esc          close the detail, or clear the filter       w   write report files (--report-dir)");
    add("  Ctrl-L       redraw the whole screen");
  } else {
    add("  q  quit                 p, space  pause / resume");
    add("  ?, h  this help         /  filter (Enter applies, Esc cancels)");
    add("  s, >  S, <  sort by the next / previous column;  r  reverse");
    add("  P N G D O L F  sort by pid, name, GC%, MAPS/s, OUTST, LEAKS, FIND");
    add("  Up/Down, j/k, PgUp/PgDn, g  select;  Enter  its detail");
    add("  Esc  close the detail or clear the filter;  Ctrl-L  redraw");
    add("  w  write report files (--report-dir)");
  }
  add("COLUMNS", Style::Header);
  for (const auto& s : column_specs()) add(fmt::format("  {:<10} {}", s.title, s.help));
}

void detail_lines(std::vector<Line>& out, const TopModel& m, size_t max_lines) {
  const ProcessRow* r = m.selected_detail();
  const ProcessView* v = m.selected();
  if (!r || !v) return;
  auto add = [&](const std::string& text, Style style = Style::Normal) { out.push_back(Line{}.add(text, style)); };
  add(fmt::format("PROCESS {} {}{}{}{}  (Enter/Esc closes)", r->pid, printable(r->comm),
                  r->runtime.empty() ? "" : "  runtime " + r->runtime,
                  r->container.empty() ? "" : "  container " + printable(r->container), r->exited ? "  [exited]" : ""),
      Style::Header);
  add(fmt::format("  GC   {} pauses, total {}, max {}, p99 {}, {} of wall time over the interval", r->gc_pauses,
                  human_duration(r->gc_pause_ns), human_duration(r->gc_pause_max_ns), human_duration(r->gc_pause_p99_ns),
                  human_percent(v->gc_share)));
  if (r->gc_histogram.count) {
    std::string buckets;
    uint64_t below = 0;
    for (size_t i = 0; i < kPauseBucketBoundsNs.size(); ++i) {
      const uint64_t n = r->gc_histogram.cumulative[i] - below;
      below = r->gc_histogram.cumulative[i];
      if (n) buckets += fmt::format(" <={}:{}", human_duration(kPauseBucketBoundsNs[i]), n);
    }
    if (r->gc_histogram.count > below) buckets += fmt::format(" >1s:{}", r->gc_histogram.count - below);
    add("       pauses by length:" + buckets, Style::Dim);
  }
  add(fmt::format("  DMA  {} maps ({}), {}/s; outstanding {} ({}); leaks {}", r->dma_maps, human_bytes(r->dma_map_bytes),
                  human_rate(v->dma_maps_per_s), r->dma_outstanding, human_bytes(r->dma_outstanding_bytes), r->dma_leaks),
      r->dma_leaks ? Style::Critical : Style::Normal);
  add(fmt::format("  GPU  {} kernels ({}), {} copies ({}, {}), {} memsets; stalls {}; GPU idle in its GC {}", r->gpu_kernels,
                  human_duration(r->gpu_kernel_ns), r->memcpys, human_bytes(r->memcpy_bytes),
                  r->memcpy_ns ? fmt::format("{:.2f} GB/s", static_cast<double>(r->memcpy_bytes) / static_cast<double>(r->memcpy_ns)) : "-",
                  r->memsets, r->stalls, human_duration(r->gpu_idle_gc_ns)));
  const auto findings = m.findings_newest_first(max_lines, r->pid);
  add(fmt::format("  findings naming it: {}  IOMMU faults: {}", r->findings, r->iommu_faults));
  for (const Finding* f : findings) {
    if (out.size() >= max_lines) break;
    Line l = finding_line(*f, m.shown().first_ns);
    l.segments.insert(l.segments.begin(), Segment{"  ", Style::Normal});
    out.push_back(std::move(l));
  }
}

// The key hints, from all of them down to the two a person cannot do without.
std::vector<Line> key_hints(const TopModel& m) {
  auto keys = [](std::initializer_list<std::pair<const char*, const char*>> list) {
    Line l;
    for (const auto& [key, what] : list) {
      if (!l.segments.empty()) l.add("  ");
      l.add(key, Style::Title).add(what);
    }
    return l;
  };
  Line full = keys({{"q", " quit"}, {"?", " help"}, {"/", " filter"}, {"s", " sort"}, {"r", " reverse"}, {"p", " pause"},
                    {"Enter", " detail"}});
  full.add(fmt::format("   sort {} {}", spec(m.sort_column()).title, m.descending() ? "desc" : "asc"), Style::Dim);
  return {full,
          keys({{"q", " quit"}, {"?", " help"}, {"/", " filter"}, {"s", " sort"}, {"p", " pause"}, {"Enter", " detail"}}),
          keys({{"q", " quit"}, {"?", " help"}, {"/", " filter"}, {"p", " pause"}}), keys({{"q", " quit"}, {"?", " help"}})};
}

// What the view is in (PAUSED, the filter) and what it says (notice, status) come first,
// then as many key hints as the width leaves room for; the notes give way to the last two.
Line status_line(const TopModel& m, int width, int& cursor_col) {
  Line l;
  if (m.editing_filter()) {
    l.add("filter: ", Style::Prompt);
    l.add(printable(m.filter_draft()));
    cursor_col = static_cast<int>(l.width());
    l.add("   (Enter applies, Esc cancels)", Style::Dim);
    return l;
  }
  if (m.paused()) l.add("PAUSED", Style::Alert).add("  ");
  if (!m.filter().empty()) l.add(fmt::format("filter '{}' (Esc clears)", printable(m.filter())), Style::Prompt).add("  ");
  if (!m.notice().empty()) l.add(printable(m.notice()), Style::Warning).add("  ");
  if (!m.status().empty()) l.add(printable(m.status()), Style::Dim).add("  ");
  const std::vector<Line> hints = key_hints(m);
  const Line* chosen = &hints.back();
  for (const Line& h : hints)
    if (l.width() + h.width() <= static_cast<size_t>(width)) {
      chosen = &h;
      break;
    }
  if (l.width() + chosen->width() > static_cast<size_t>(width)) {
    l = clip(std::move(l), std::max(0, width - static_cast<int>(chosen->width()) - 2));
    l.add("  ");
  }
  for (const Segment& seg : chosen->segments) l.segments.push_back(seg);
  return l;
}

// Words of text in lines of at most width cells.
std::vector<std::string> wrap(const std::string& text, int width) {
  std::vector<std::string> lines;
  std::string line, word;
  auto flush_word = [&] {
    if (word.empty()) return;
    if (!line.empty() && static_cast<int>(line.size() + 1 + word.size()) > width) {
      lines.push_back(line);
      line.clear();
    }
    line += (line.empty() ? "" : " ") + word;
    word.clear();
  };
  for (char c : text + " ") {
    if (c == ' ') flush_word();
    else word += c;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

}  // namespace

Line& Line::add(std::string text, Style style) {
  segments.push_back(Segment{std::move(text), style});
  return *this;
}

std::string Line::text() const {
  std::string out;
  for (const auto& s : segments) out += s.text;
  return out;
}

size_t Line::width() const {
  size_t n = 0;
  for (const auto& s : segments) n += s.text.size();
  return n;
}

std::string Frame::text() const {
  std::string out;
  for (const auto& l : lines) {
    std::string t = l.text();
    while (!t.empty() && t.back() == ' ') t.pop_back();
    out += t + "\n";
  }
  return out;
}

std::string printable(const std::string& s) {
  std::string out = s;
  for (char& c : out)
    if (static_cast<unsigned char>(c) < 32 || static_cast<unsigned char>(c) >= 127) c = '?';
  return out;
}

std::vector<Column> visible_columns(int width) {
  std::vector<Column> cols;
  for (const auto& s : column_specs()) cols.push_back(s.id);
  auto total = [&] {
    int w = -1;
    for (Column c : cols) w += spec(c).width + 1;
    return w;
  };
  for (int priority = 4; priority >= 1 && total() > width; --priority)
    for (auto it = cols.end(); it != cols.begin() && total() > width;) {
      --it;
      if (spec(*it).priority == priority) it = cols.erase(it);
    }
  return cols;
}

std::string cell_text(const ProcessView& r, Column c) {
  switch (c) {
    case Column::Pid: return std::to_string(r.pid);
    case Column::Command: return printable(r.comm.empty() ? "?" : r.comm) + (r.exited ? "*" : "");
    case Column::Container: return r.container.empty() ? "-" : printable(r.container.substr(0, 12));
    case Column::Runtime: return r.runtime.empty() ? "-" : r.runtime;
    case Column::GcShare: return r.gc_pauses ? human_percent(r.gc_share) : "-";
    case Column::GcP99: return r.gc_pauses ? human_duration(r.gc_p99_ns) : "-";
    case Column::DmaRate: return human_rate(r.dma_maps_per_s);
    case Column::Outstanding: return std::to_string(r.outstanding);
    case Column::OutstandingBytes: return human_bytes(r.outstanding_bytes);
    case Column::Leaks: return std::to_string(r.leaks);
    case Column::Faults: return std::to_string(r.iommu_faults);
    case Column::Memcpy: return r.memcpy_seen ? fmt::format("{:.2f}", r.memcpy_gbps) : "-";
    case Column::Stalls: return std::to_string(r.stalls);
    case Column::Findings: return std::to_string(r.findings);
  }
  return {};
}

Frame layout_frame(TopModel& m, const LayoutOptions& o) {
  Frame frame;
  const int width = o.width;
  const bool unlimited = o.batch || o.height <= 0;
  // --batch lines go to logs: whole, however long; the screen cuts them at its width.
  auto fit = [&](Line l) { return unlimited ? l : clip(std::move(l), width); };
  if (!unlimited && (width < kMinWidth || o.height < kMinHeight)) {
    // Wrapped: the sizes are what the person needs to read, even on a tiny terminal.
    const std::string text = fmt::format("gputrace top needs {}x{}; this terminal is {}x{}", kMinWidth, kMinHeight, width, o.height);
    for (const std::string& line : wrap(text, std::max(1, width))) {
      if (o.height > 0 && frame.lines.size() >= static_cast<size_t>(o.height)) break;
      frame.lines.push_back(clip(Line{}.add(line, Style::Alert), width));
    }
    return frame;
  }
  if (!m.has_snapshot()) {
    frame.lines.push_back(Line{}.add("gputrace top", Style::Title).add("  waiting for the first snapshot..."));
    return frame;
  }
  std::vector<Line> top;
  top.push_back(title_line(m));
  // --batch has no status line: what it would say of the data goes under the title.
  if (unlimited) {
    if (!m.notice().empty()) top.push_back(Line{}.add("note: " + printable(m.notice()), Style::Warning));
    if (!m.status().empty()) top.push_back(Line{}.add("note: " + printable(m.status()), Style::Dim));
  }
  top.push_back(events_line(m));
  if (auto shedding = shedding_line(m.shown())) top.push_back(std::move(*shedding));
  top.push_back(findings_summary_line(m));
  const auto& devices = m.shown().devices;
  const size_t device_lines = unlimited ? devices.size() : std::min(devices.size(), kMaxHeaderDevices);
  if (devices.empty())
    top.push_back(Line{}.add("devices: none traced (the default keeps GPUs; --all-devices traces every device)", Style::Dim));
  for (size_t i = 0; i < device_lines; ++i) top.push_back(device_line(m, devices[i]));
  if (devices.size() > device_lines)
    top.push_back(Line{}.add(fmt::format("  ... {} more devices (gputrace top --batch lists all)", devices.size() - device_lines), Style::Dim));

  const std::vector<Column> cols = visible_columns(width);
  m.set_visible_columns(cols);
  int fixed = -1;
  for (Column c : cols) fixed += spec(c).width + 1;
  // COMMAND takes what is left over, up to 24 cells.
  const int command_width = std::clamp(spec(Column::Command).width + (width - fixed), spec(Column::Command).width, 24);

  std::vector<Line> bottom;  // findings pane, detail or help
  const int height = o.height;
  const size_t rows_total = m.rows().size();
  size_t rows_visible = rows_total;
  if (unlimited) {
    const auto findings = m.findings_newest_first(kBatchFindings);
    const uint64_t total = m.shown().findings_total;
    bottom.push_back(bar(fmt::format("FINDINGS ({}, newest first{})", total,
                                     total > findings.size() ? fmt::format(", {} shown", findings.size()) : ""),
                         0, Style::Header));
    if (findings.empty()) bottom.push_back(Line{}.add("  none", Style::Dim));
    for (const Finding* f : findings) bottom.push_back(finding_line(*f, m.shown().first_ns));
  } else {
    const int status = 1;
    const int table_header = 1;
    const int available = height - static_cast<int>(top.size()) - status - table_header;
    if (m.help_open()) {
      help_lines(bottom, width);
      rows_visible = 0;
      const size_t room = static_cast<size_t>(std::max(0, available));
      if (bottom.size() > room) bottom.resize(room);
    } else {
      const size_t pane = m.detail_open() ? static_cast<size_t>(std::max(6, available / 2))
                                          : static_cast<size_t>(std::clamp(available / 3, 2, 10));
      if (m.detail_open()) {
        detail_lines(bottom, m, pane);
      } else {
        const auto findings = m.findings_newest_first(pane - 1);
        bottom.push_back(bar(fmt::format("FINDINGS ({}, newest first)", m.shown().findings_total), width, Style::Header));
        if (findings.empty()) bottom.push_back(Line{}.add("  none", Style::Dim));
        for (const Finding* f : findings) bottom.push_back(finding_line(*f, m.shown().first_ns));
      }
      rows_visible = static_cast<size_t>(std::max(1, available - static_cast<int>(bottom.size())));
    }
  }

  for (auto& l : top) frame.lines.push_back(fit(std::move(l)));
  if (!(m.help_open() && !unlimited)) {
    const std::string header = header_text(cols, m, command_width);
    frame.lines.push_back(fit(bar(header, unlimited ? 0 : width, Style::Header)));
    m.fit_scroll(rows_visible);
    const size_t first = unlimited ? 0 : m.scroll();
    const auto selected = m.selected_index();
    for (size_t i = first; i < rows_total && i < first + rows_visible; ++i) {
      const ProcessView& r = m.rows()[i];
      const bool is_selected = !unlimited && selected && *selected == i;
      Style style = is_selected ? Style::Selected : r.leaks || r.iommu_faults ? Style::Critical : r.exited ? Style::Dim : Style::Normal;
      frame.lines.push_back(fit(bar(row_text(cols, r, command_width), is_selected ? width : 0, style)));
    }
    if (rows_total == 0)
      frame.lines.push_back(Line{}.add(m.filter().empty() ? "  no process activity yet (GC pauses, DMA mappings, findings)"
                                                          : fmt::format("  no process matches '{}'", printable(m.filter())),
                                       Style::Dim));
    if (!unlimited)  // keep the findings pane at the bottom
      while (frame.lines.size() < static_cast<size_t>(height) - 1 - bottom.size()) frame.lines.push_back(Line{});
  }
  for (auto& l : bottom) frame.lines.push_back(fit(std::move(l)));
  if (!unlimited) {
    int cursor_col = -1;
    Line status = status_line(m, width, cursor_col);
    while (frame.lines.size() < static_cast<size_t>(height) - 1) frame.lines.push_back(Line{});
    if (frame.lines.size() > static_cast<size_t>(height) - 1) frame.lines.resize(static_cast<size_t>(height) - 1);
    frame.lines.push_back(fit(std::move(status)));
    if (cursor_col >= 0 && cursor_col < width) {
      frame.cursor_row = height - 1;
      frame.cursor_col = cursor_col;
    }
  }
  return frame;
}

}  // namespace gputrace::top
