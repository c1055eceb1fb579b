#include "exporters/report/html_report.h"

#include "exporters/report/markdown_report.h"
#include "exporters/report/svg.h"
#include "exporters/report/device_fields.h"
#include "userspace/model/loss_counters.h"
#include "exporters/report/listing.h"
#include "userspace/util/units.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;
using svg::escape;

constexpr std::array<const char*, 8> kPalette = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                                 "#ff7f0e", "#17becf", "#8c564b", "#e377c2"};
constexpr double kSvgWidth = 1160;
constexpr double kLabelWidth = 250;
constexpr double kPlotX0 = kLabelWidth + 10;
constexpr double kPlotWidth = kSvgWidth - kPlotX0 - 20;
constexpr size_t kMaxTimelineLanes = 80;
constexpr size_t kMaxFindingRows = 6;  // rows of one findings track (overlapping ones stack)
constexpr double kRowHeight = 16;

constexpr const char* kStyle = R"(
:root { --crit: #c62828; --warn: #ef6c00; --info: #1565c0; --ink: #1d2330; --muted: #5f6b7a; --line: #dde3ea; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--ink);
       margin: 0; background: #f5f7fa; }
header { background: #1d2330; color: #fff; padding: 18px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header .meta { margin: 4px 0 0; color: #b8c2d0; font-size: 13px; }
main { padding: 8px 32px 32px; max-width: 1240px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 6px; padding: 16px 20px; margin: 16px 0; }
h2 { font-size: 17px; margin: 0 0 12px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; min-width: 150px; }
.card .value { font-size: 22px; font-weight: 600; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card.bad .value { color: var(--crit); }
.narrative { margin: 0; padding-left: 20px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.finding { border-left: 4px solid var(--info); padding: 8px 12px; margin: 12px 0; background: #fafbfc; }
.finding.critical { border-color: var(--crit); }
.finding.warning { border-color: var(--warn); }
.finding h3 { margin: 0 0 4px; font-size: 14px; }
.sev { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-size: 12px; background: var(--info); }
.sev.critical { background: var(--crit); }
.sev.warning { background: var(--warn); }
.finding table.evidence { width: auto; margin-top: 6px; }
.finding table.evidence th { width: 180px; }
pre { background: #f0f3f7; padding: 8px; overflow-x: auto; font-size: 12px; margin: 6px 0; }
code { font-size: 12px; }
.note { color: var(--muted); font-size: 12px; }
svg { display: block; max-width: 100%; height: auto; }
svg text { font: 11px system-ui, "DejaVu Sans", sans-serif; fill: var(--ink); }
svg .group { font-weight: 600; }
svg .lane { fill: var(--muted); }
svg .tick { fill: var(--muted); }
svg .grid { stroke: #e7ebf0; stroke-width: 1; }
svg .band { fill: #f7f9fb; }
svg .gc { fill: #7b1fa2; }
svg .gpu { fill: #2e7d32; }
svg .counter { fill: none; stroke: #1f77b4; stroke-width: 1.2; }
svg .critical { fill: var(--crit); }
svg .warning { fill: var(--warn); }
svg .info { fill: var(--info); }
svg .range { opacity: .35; }
.charts { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
figure { margin: 0; }
figcaption { font-weight: 600; margin-bottom: 4px; }
.legend span { display: inline-block; margin-right: 12px; font-size: 12px; }
.legend i { display: inline-block; width: 10px; height: 10px; margin-right: 4px; vertical-align: -1px; }
footer { color: var(--muted); font-size: 12px; padding: 0 32px 24px; }
)";

// Names are bytes, not UTF-8: a strict dump would throw on them (escape() handles the rest).
std::string text(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump(-1, ' ', false, json::error_handler_t::replace);
}
std::string h(const json& v) { return escape(text(v)); }
std::string h(const std::string& v) { return escape(v); }
const char* sev_class(Severity s) { return s == Severity::Critical ? "critical" : s == Severity::Warning ? "warning" : "info"; }

std::string seconds_since(uint64_t ns, uint64_t origin) {
  return ns >= origin ? fmt::format("{:.3f} s", static_cast<double>(ns - origin) / 1e9) : "before start";
}

int group_rank(const TimelineTrack& t) {
  switch (t.group_kind) {
    case TrackGroupKind::Host: return 0;
    case TrackGroupKind::Gpu: return 1;
    case TrackGroupKind::Device: return 2;
    case TrackGroupKind::Process: return 3;
  }
  return 4;
}

std::string group_label(const TimelineTrack& t) {
  if (t.group_kind == TrackGroupKind::Process) return fmt::format("{} [{}]", t.group_name, t.group_id);
  return t.group_name;
}

struct ByTrack {
  std::vector<std::vector<size_t>> slices, counters, marks;
};

ByTrack index_by_track(const Timeline& tl) {
  ByTrack out;
  out.slices.resize(tl.tracks.size());
  out.counters.resize(tl.tracks.size());
  out.marks.resize(tl.tracks.size());
  for (size_t i = 0; i < tl.slices.size(); ++i) out.slices[tl.slices[i].track].push_back(i);
  for (size_t i = 0; i < tl.counters.size(); ++i) out.counters[tl.counters[i].track].push_back(i);
  for (size_t i = 0; i < tl.marks.size(); ++i) out.marks[tl.marks[i].track].push_back(i);
  for (auto& v : out.slices)
    std::stable_sort(v.begin(), v.end(), [&](size_t a, size_t b) { return tl.slices[a].start_ns < tl.slices[b].start_ns; });
  for (auto& v : out.marks)
    std::stable_sort(v.begin(), v.end(), [&](size_t a, size_t b) { return tl.marks[a].start_ns < tl.marks[b].start_ns; });
  return out;
}

// ---- summary ----

std::string summary_section(const HostSnapshot& s, const Timeline& tl) {
  auto severity = [&](const char* name) {
    auto it = s.findings_by_severity.find(name);
    return it == s.findings_by_severity.end() ? uint64_t{0} : it->second;
  };
  uint64_t lost = 0, late = 0;
  for (const LossCounter& l : s.losses) (counts_late_records(l.name) ? late : lost) += l.count;
  double worst_gc = 0;
  bool any_pause = false;
  if (s.gc_pauses)
    for (const GcPauseRow& p : *s.gc_pauses) {
      worst_gc = std::max(worst_gc, p.wall_share);
      any_pause = any_pause || p.pauses > 0;
    }
  uint64_t outstanding = 0;
  for (const DeviceRow& d : s.devices) outstanding += d.dma_outstanding;
  auto card = [](const std::string& value, const std::string& label, bool bad) {
    return fmt::format("<div class=\"card{}\"><div class=\"value\">{}</div><div class=\"label\">{}</div></div>",
                       bad ? " bad" : "", escape(value), escape(label));
  };
  std::string out = "<section id=\"summary\"><h2>What happened</h2><div class=\"cards\">";
  out += card(std::to_string(s.findings_total), "findings", severity("critical") > 0);
  out += card(std::to_string(severity("critical")), "critical", severity("critical") > 0);
  out += card(std::to_string(s.devices.size()), "devices", false);
  out += card(std::to_string(outstanding), "mappings outstanding at end", false);
  out += card(any_pause ? human_percent(worst_gc) : "-", "worst GC wall share", worst_gc > 0.05);
  out += card(std::to_string(lost), "events lost", lost > 0);
  if (late) out += card(std::to_string(late), "late, still processed", false);
  out += "</div><ul class=\"narrative\">";
  for (const auto& sentence : report_narrative(s)) out += "<li>" + escape(sentence) + "</li>";
  out += "</ul>";
  if (tl.refused)
    out += fmt::format("<p class=\"note\">{} events had no place on the timeline: their process, or the "
                       "whole run, had opened as many tracks as the timeline keeps; they are in the counts above.</p>",
                       tl.refused);
  if (const uint64_t dropped = tl.dropped_total() - tl.refused)
    out += fmt::format("<p class=\"note\">The timeline keeps the newest events of each track, up to a bound: {} older "
                       "ones were left out of the timeline and charts (all of them are in the counts above).</p>",
                       dropped);
  return out + "</section>";
}

// ---- timeline ----

// Findings of one track that overlap on screen (a range, or the marker where it ends) go
// to rows of their own, like trace.json's extra threads, so one does not hide another; past
// kMaxFindingRows they share the row that frees first. Returns each mark's row (by.marks
// order) and sets rows to how many are used.
std::vector<uint32_t> finding_rows(const Timeline& tl, const std::vector<size_t>& marks, const svg::TimeAxis& axis,
                                   uint32_t& rows) {
  std::vector<uint32_t> out;
  std::vector<double> row_end;  // right edge of the last mark in each row
  for (size_t i : marks) {
    const TimelineMark& m = tl.marks[i];
    const double left = std::min(axis.x(m.start_ns), axis.x(m.end_ns) - 5), right = axis.x(m.end_ns) + 6;
    uint32_t row = 0;
    while (row < row_end.size() && row_end[row] > left) ++row;
    if (row == row_end.size()) {
      if (row_end.size() < kMaxFindingRows) {
        row_end.push_back(0);
      } else {
        row = static_cast<uint32_t>(std::min_element(row_end.begin(), row_end.end()) - row_end.begin());
      }
    }
    row_end[row] = std::max(row_end[row], right);
    out.push_back(row);
  }
  rows = std::max<uint32_t>(1, static_cast<uint32_t>(row_end.size()));
  return out;
}

struct LanePlan {
  uint32_t track;
  bool group_start;  // first lane of its group: draws the group's name above
};

std::string timeline_section(const Timeline& tl, const ByTrack& by, const svg::TimeAxis& axis) {
  std::vector<uint32_t> order;
  for (uint32_t t = 0; t < tl.tracks.size(); ++t) {
    const TimelineTrack& tr = tl.tracks[t];
    if (tr.kind == TrackKind::Counter && tr.unit != "mappings") continue;  // bytes: in the tooltip
    order.push_back(t);
  }
  std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    const TimelineTrack &x = tl.tracks[a], &y = tl.tracks[b];
    return std::tuple(group_rank(x), x.group_id, x.order) < std::tuple(group_rank(y), y.group_id, y.order);
  });
  std::string out = "<section id=\"timeline\"><h2>Timeline</h2>";
  if (order.empty()) return out + "<p>No timeline events: no GC pause, GPU activity, DMA mapping or finding.</p></section>";
  const size_t shown = std::min(order.size(), kMaxTimelineLanes);

  std::string body;
  double y = 8;
  std::string last_group;
  for (size_t i = 0; i < shown; ++i) {
    const uint32_t t = order[i];
    const TimelineTrack& tr = tl.tracks[t];
    const std::string group = fmt::format("{}/{}", group_rank(tr), tr.group_id);
    if (group != last_group) {
      y += 6;
      body += fmt::format("<text class=\"group\" x=\"4\" y=\"{:.1f}\">{}</text>", y + 10, escape(group_label(tr)));
      y += 14;
      last_group = group;
    }
    uint32_t rows = 1;
    const std::vector<uint32_t> row_of =
        tr.kind == TrackKind::Instants ? finding_rows(tl, by.marks[t], axis, rows) : std::vector<uint32_t>{};
    const double lane_h = tr.kind == TrackKind::Counter ? 34 : kRowHeight * rows;
    body += fmt::format("<rect class=\"band\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"/>", axis.x0, y,
                        axis.width, lane_h);
    body += fmt::format("<text class=\"lane\" x=\"16\" y=\"{:.1f}\">{}</text>",
                        y + (tr.kind == TrackKind::Instants ? kRowHeight : lane_h) / 2 + 4, escape(tr.name));
    std::string lane = fmt::format("<g class=\"track\" data-track=\"{}\">", escape(group_label(tr) + " / " + tr.name));
    if (tr.kind == TrackKind::Slices) {
      svg::SpanMerger merger;
      for (size_t i : by.slices[t]) {
        const TimelineSlice& s = tl.slices[i];
        merger.add(axis.x(s.start_ns), axis.x(s.start_ns + s.dur_ns), i);
      }
      const char* cls = tr.group_kind == TrackGroupKind::Gpu ? "gpu" : "gc";
      for (const auto& span : merger.spans()) {
        const TimelineSlice& s = tl.slices[span.first_item];
        const std::string title =
            span.items == 1 ? fmt::format("{} · {} at {}", tl.names[s.name], human_duration(s.dur_ns),
                                          seconds_since(s.start_ns, axis.first_ns))
                            : fmt::format("{} events from {}", span.items, seconds_since(s.start_ns, axis.first_ns));
        lane += fmt::format("<rect class=\"{}\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>{}</title></rect>",
                            cls, span.x0, y + 2, span.x1 - span.x0, lane_h - 4, escape(title));
      }
    } else if (tr.kind == TrackKind::Counter) {
      double max_value = 0;
      for (size_t i : by.counters[t]) max_value = std::max(max_value, tl.counters[i].value);
      svg::StepPath path(y + lane_h - 2, lane_h - 6, max_value);
      for (size_t i : by.counters[t]) path.add(axis.x(tl.counters[i].ts_ns), tl.counters[i].value);
      lane += fmt::format("<path class=\"counter\" d=\"{}\"><title>{}: up to {:.0f}</title></path>",
                          path.path_d(axis.x0 + axis.width), escape(tr.name), max_value);
      lane += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">max {:.0f}</text>",
                          axis.x0 - 4, y + 10, max_value);
    } else {
      for (size_t k = 0; k < by.marks[t].size(); ++k) {
        const TimelineMark& m = tl.marks[by.marks[t][k]];
        const std::string title = fmt::format("[{}] {} at {}: {}", to_string(m.severity), m.kind,
                                              seconds_since(m.start_ns, axis.first_ns), m.message);
        const double x0 = axis.x(m.start_ns), x1 = axis.x(m.end_ns), row_y = y + kRowHeight * row_of[k];
        if (x1 - x0 >= 1)
          lane += fmt::format("<rect class=\"{} range\" x=\"{:.1f}\" y=\"{:.1f}\" width=\"{:.1f}\" height=\"{:.1f}\"><title>{}</title></rect>",
                              sev_class(m.severity), x0, row_y + 3, x1 - x0, kRowHeight - 6, escape(title));
        // The moment it was concluded, where a range ends, as a marker a person can spot.
        lane += fmt::format("<path class=\"{}\" d=\"M{:.1f},{:.1f}l5,7l-5,7l-5,-7z\"><title>{}</title></path>",
                            sev_class(m.severity), x1, row_y + 1, escape(title));
      }
    }
    body += lane + "</g>";
    y += lane_h + 3;
  }
  const double axis_y = y + 4;
  out += fmt::format("<svg id=\"timeline-svg\" viewBox=\"0 0 {:.0f} {:.0f}\" "
                     "width=\"{:.0f}\" height=\"{:.0f}\" role=\"img\" aria-label=\"timeline\">",
                     kSvgWidth, axis_y + 20, kSvgWidth, axis_y + 20);
  out += axis.draw(4, axis_y);
  out += body + "</svg>";
  out += fmt::format("<p class=\"note\">Time since {} ns (CLOCK_MONOTONIC). Outstanding mappings are sampled at most "
                     "every {}, with the last value of each period drawn when it was reached. Hover for details; "
                     "trace.json (Perfetto) has every event kept.",
                     axis.first_ns, human_duration(tl.counter_period_ns));
  if (order.size() > shown) out += fmt::format(" {} more tracks are only in trace.json.", order.size() - shown);
  return out + "</p></section>";
}

// ---- charts ----

std::string frame_axes(double x0, double y0, double w, double hgt, double max_value, const std::string& unit) {
  std::string out;
  for (double v : svg::nice_ticks(0, max_value > 0 ? max_value : 1, 4)) {
    const double py = y0 + hgt - (max_value > 0 ? hgt * v / max_value : 0);
    out += fmt::format("<line class=\"grid\" x1=\"{:.1f}\" x2=\"{:.1f}\" y1=\"{:.1f}\" y2=\"{:.1f}\"/>", x0, x0 + w, py, py);
    out += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"end\">{:g}{}</text>", x0 - 4, py + 4,
                       v, unit);
  }
  return out;
}

std::string outstanding_chart(const Timeline& tl, const ByTrack& by, const svg::TimeAxis& time) {
  constexpr double W = 560, H = 240, X0 = 60, Y0 = 10, PW = W - X0 - 10, PH = H - 40;
  std::vector<uint32_t> tracks;
  double max_value = 0;
  for (uint32_t t = 0; t < tl.tracks.size(); ++t)
    if (tl.tracks[t].kind == TrackKind::Counter && tl.tracks[t].unit == "mappings" && !by.counters[t].empty()) {
      tracks.push_back(t);
      for (size_t i : by.counters[t]) max_value = std::max(max_value, tl.counters[i].value);
    }
  std::string out = "<figure id=\"chart-outstanding\"><figcaption>Outstanding DMA mappings per device</figcaption>";
  if (tracks.empty()) return out + "<p class=\"note\">No DMA mapping was seen.</p></figure>";
  const double top = svg::nice_ticks(0, max_value, 4).back() >= max_value ? svg::nice_ticks(0, max_value, 4).back() : max_value;
  svg::TimeAxis axis = time;
  axis.x0 = X0;
  axis.width = PW;
  out += fmt::format("<svg viewBox=\"0 0 {0:.0f} {1:.0f}\" width=\"{0:.0f}\" "
                     "height=\"{1:.0f}\" role=\"img\" aria-label=\"outstanding mappings\">",
                     W, H);
  out += frame_axes(X0, Y0, PW, PH, top, "");
  out += axis.draw(Y0, Y0 + PH);
  std::string legend = "<div class=\"legend\">";
  for (size_t k = 0; k < tracks.size(); ++k) {
    const uint32_t t = tracks[k];
    const char* color = kPalette[k % kPalette.size()];
    svg::StepPath path(Y0 + PH, PH, top);
    for (size_t i : by.counters[t]) path.add(axis.x(tl.counters[i].ts_ns), tl.counters[i].value);
    out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"><title>{}</title></path>",
                       path.path_d(X0 + PW), color, escape(tl.tracks[t].group_name));
    legend += fmt::format("<span><i style=\"background:{}\"></i>{}</span>", color, escape(tl.tracks[t].group_name));
  }
  return out + "</svg>" + legend + "</div></figure>";
}

std::string gc_chart(const Timeline& tl, const ByTrack& by, const svg::TimeAxis& time) {
  constexpr double W = 560, H = 240, X0 = 60, Y0 = 10, PW = W - X0 - 10, PH = H - 40;
  std::vector<uint32_t> tracks;
  uint64_t max_ns = 0;
  for (uint32_t t = 0; t < tl.tracks.size(); ++t)
    if (tl.tracks[t].group_kind == TrackGroupKind::Process && tl.tracks[t].kind == TrackKind::Slices &&
        !by.slices[t].empty()) {
      tracks.push_back(t);
      for (size_t i : by.slices[t]) max_ns = std::max(max_ns, tl.slices[i].dur_ns);
    }
  std::string out = "<figure id=\"chart-gc\"><figcaption>GC pause durations over time</figcaption>";
  if (tracks.empty()) return out + "<p class=\"note\">No GC pause was traced.</p></figure>";
  const double max_ms = static_cast<double>(max_ns) / 1e6;
  const auto ticks = svg::nice_ticks(0, max_ms > 0 ? max_ms : 1, 4);
  const double top = std::max(ticks.back(), max_ms);
  svg::TimeAxis axis = time;
  axis.x0 = X0;
  axis.width = PW;
  out += fmt::format("<svg viewBox=\"0 0 {0:.0f} {1:.0f}\" width=\"{0:.0f}\" "
                     "height=\"{1:.0f}\" role=\"img\" aria-label=\"GC pauses\">",
                     W, H);
  out += frame_axes(X0, Y0, PW, PH, top, " ms");
  out += axis.draw(Y0, Y0 + PH);
  std::string legend = "<div class=\"legend\">";
  for (size_t k = 0; k < tracks.size(); ++k) {
    const uint32_t t = tracks[k];
    const char* color = kPalette[k % kPalette.size()];
    // One dot per pixel column: the longest pause there (what a person looks for).
    std::map<int, size_t> longest;
    for (size_t i : by.slices[t]) {
      const int px = static_cast<int>(axis.x(tl.slices[i].start_ns));
      auto [it, added] = longest.try_emplace(px, i);
      if (!added && tl.slices[i].dur_ns > tl.slices[it->second].dur_ns) it->second = i;
    }
    for (const auto& [px, i] : longest) {
      const TimelineSlice& s = tl.slices[i];
      const double py = Y0 + PH - PH * (static_cast<double>(s.dur_ns) / 1e6) / top;
      out += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"2.2\" fill=\"{}\"><title>{} {} at {}</title></circle>",
                         axis.x(s.start_ns), py, color, escape(tl.names[s.name]), human_duration(s.dur_ns),
                         seconds_since(s.start_ns, axis.first_ns));
    }
    legend += fmt::format("<span><i style=\"background:{}\"></i>{}</span>", color, escape(group_label(tl.tracks[t])));
  }
  return out + "</svg>" + legend + "</div></figure>";
}

// ---- findings and tables ----

std::string findings_section(const HostSnapshot& s) {
  const std::vector<const Finding*> findings = findings_worst_first(s);
  std::string out = fmt::format("<section id=\"findings\"><h2>Findings, worst first ({})</h2>", findings.size());
  if (findings.empty()) out += "<p>None.</p>";
  size_t n = 0;
  for (const Finding* f : findings) {
    if (n == kListedFindings) {
      out += "<p class=\"note\">" + escape(not_listed_note(findings.size() - n, "findings")) + "</p>";
      break;
    }
    out += fmt::format("<article class=\"finding {0}\" id=\"finding-{1}\"><h3>{1}. <span class=\"sev {0}\">{0}</span> "
                       "<code>{2}</code></h3><p>{3}</p><table class=\"evidence\">",
                       to_string(f->severity), ++n, escape(std::string(f->kind_name())), h(f->message));
    out += fmt::format("<tr><th>time</th><td>{} .. {} ({} .. {} ns)</td></tr>", seconds_since(f->start_ns, s.first_ns),
                       seconds_since(f->end_ns, s.first_ns), f->start_ns, f->end_ns);
    if (f->pid) out += fmt::format("<tr><th>process</th><td>{}[{}]</td></tr>", h(f->comm), f->pid);
    std::string lists;
    for (const auto& [key, value] : f->evidence.items()) {
      if (value.is_array()) {
        if (value.empty()) continue;
        std::string items;
        for (const auto& item : value) items += escape(text(item)) + "\n";
        lists += fmt::format("<details{}><summary>{} ({})</summary><pre>{}</pre></details>",
                             key == "stack" ? " open" : "", escape(key), value.size(), items);
      } else if (value.is_object()) {
        std::string inline_text;
        for (const auto& [k, v] : value.items()) inline_text += fmt::format("{}{}={}", inline_text.empty() ? "" : " ", k, text(v));
        out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", escape(key), escape(inline_text));
      } else {
        out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", escape(key), h(value));
      }
    }
    out += "</table>" + lists + "</article>";
  }
  return out + "</section>";
}

std::string devices_section(const HostSnapshot& s) {
  std::string out = fmt::format("<section id=\"devices\"><h2>Devices ({})</h2>", s.devices.size());
  if (s.devices.empty()) return out + "<p>No device was traced or named by an event.</p></section>";
  out += "<table><tr><th>device</th><th>driver</th><th>IOMMU</th><th>PCIe link</th><th class=\"num\">maps</th>"
         "<th class=\"num\">unmaps</th><th class=\"num\">outstanding</th><th class=\"num\">leaks</th>"
         "<th class=\"num\">IOMMU faults</th><th class=\"num\">swiotlb bounces</th></tr>";
  for (const DeviceRow* d : devices_in_report_order(s)) {
    const std::string link = pcie_link_text(*d, " (downtrained)");
    out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{} ({})</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                       h(d->name), h(d->driver), h(d->iommu_mode), escape(link), d->dma_maps, d->dma_unmaps,
                       d->dma_outstanding, human_bytes(d->dma_outstanding_bytes), d->dma_leaks, d->iommu_faults,
                       d->swiotlb_bounces);
  }
  return out + "</table></section>";
}

std::string owners_section(const HostSnapshot& s) {
  const std::vector<OwnerRow>& procs = s.owners;
  std::string out = fmt::format("<section id=\"processes\"><h2>Mapping owners ({})</h2>", procs.size());
  if (procs.empty()) return out + "<p>No process made a DMA mapping while traced.</p></section>";
  out += "<table><tr><th>process</th><th>owner</th><th>exe</th><th class=\"num\">made</th><th class=\"num\">bytes</th>"
         "<th class=\"num\">outstanding</th><th class=\"num\">leaks</th><th>exited</th></tr>";
  const auto listed = worst_entries(procs, kListedRows, worse_owner);
  for (size_t i : listed) {
    const OwnerRow& p = procs[i];
    out += fmt::format("<tr><td>{}[{}]</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                       h(p.comm), p.pid, h(p.owner_kind), h(p.exe), p.mappings_made, human_bytes(p.bytes_mapped),
                       p.outstanding, p.leaks_reported, p.exit_ns ? "yes" : "no");
  }
  out += "</table>";
  if (listed.size() < procs.size())
    out += "<p class=\"note\">" +
           escape(not_listed_note(procs.size() - listed.size(), "owners (fewer leaks and outstanding mappings)")) + "</p>";
  return out + "</section>";
}

std::string gc_section(const HostSnapshot& s) {
  if (!s.gc_pauses) return {};
  const std::vector<GcPauseRow>& procs = *s.gc_pauses;
  std::string out = fmt::format("<section id=\"gc\"><h2>GC pauses ({} processes)</h2>", procs.size());
  if (procs.empty()) return out + "<p>No managed-runtime process paused for GC while traced.</p></section>";
  out += "<table><tr><th class=\"num\">pid</th><th>runtime</th><th class=\"num\">pauses</th><th class=\"num\">total</th>"
         "<th class=\"num\">max</th><th class=\"num\">p50</th><th class=\"num\">p90</th><th class=\"num\">p99</th>"
         "<th class=\"num\">wall time</th></tr>";
  const auto listed = worst_entries(procs, kListedRows, worse_gc_process);
  for (size_t i : listed) {
    const GcPauseRow& p = procs[i];
    out += fmt::format("<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
                       "<td class=\"num\">{}</td></tr>",
                       p.pid, h(p.runtime), p.pauses, human_duration(p.total_ns), human_duration(p.max_ns),
                       human_duration(p.p50_ns), human_duration(p.p90_ns), human_duration(p.p99_ns),
                       human_percent(p.wall_share));
  }
  out += "</table>";
  if (listed.size() < procs.size())
    out += "<p class=\"note\">" +
           escape(not_listed_note(procs.size() - listed.size(), "processes (smaller wall-time share)")) + "</p>";
  return out + "</section>";
}

std::string losses_section(const HostSnapshot& s) {
  std::string out = "<section id=\"losses\"><h2>Losses</h2><table><tr><th>counter</th><th class=\"num\">count</th><th>source</th></tr>";
  for (const LossCounter& l : s.losses)
    out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>", h(l.name), l.count, escape(l.source));
  return out + "</table></section>";
}

}  // namespace

std::string render_html_report(const HostSnapshot& s, const Timeline& timeline) {
  const SnapshotSource& src = s.source;
  const std::string host = src.hostname.empty() ? src.path : src.hostname;
  svg::TimeAxis axis;
  axis.first_ns = timeline.first_ns ? timeline.first_ns : s.first_ns;
  axis.last_ns = std::max(timeline.last_ns, s.taken_ns);
  axis.x0 = kPlotX0;
  axis.width = kPlotWidth;
  const ByTrack by = index_by_track(timeline);
  const double seconds = s.taken_ns > s.first_ns ? double(s.taken_ns - s.first_ns) / 1e9 : 0.0;

  std::string out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">";
  out += fmt::format("<title>gputrace report: {}</title>", escape(host));
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">";
  out += "<style>" + std::string(kStyle) + "</style></head><body>\n";
  out += fmt::format("<header><h1>gputrace report: {}</h1><p class=\"meta\">source {} · kernel {} · gputrace {} · "
                     "{:.3f} s{}</p></header><main>\n",
                     escape(host), h(src.path), h(src.kernel), h(src.version), seconds,
                     s.complete ? "" : " (live, still running)");
  out += summary_section(s, timeline) + "\n";
  out += timeline_section(timeline, by, axis) + "\n";
  out += "<section id=\"charts\"><h2>Charts</h2><div class=\"charts\">" + outstanding_chart(timeline, by, axis) +
         gc_chart(timeline, by, axis) + "</div></section>\n";
  out += findings_section(s) + "\n";
  out += devices_section(s) + "\n";
  out += owners_section(s) + "\n";
  out += gc_section(s) + "\n";
  out += losses_section(s) + "\n";
  out += fmt::format("</main><footer>Generated by gputrace {} from {} (schema {}). Self-contained: no script, no network.</footer>",
                     h(src.version), h(src.path), kReportSchema);
  out += "</body></html>\n";
  return out;
}

}  // namespace gputrace
