#include "exporters/report/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gputrace::svg {

std::string escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters are not allowed in XML 1.0; comm and kernel names can carry them.
        if (c < 0x20 && c != '\n' && c != '\t') out += '?';
        else out += static_cast<char>(c);
    }
  }
  return out;
}

std::vector<double> nice_ticks(double lo, double hi, int count) {
  std::vector<double> out;
  if (!(hi > lo) || count < 1) {
    out.push_back(lo);
    return out;
  }
  const double raw = (hi - lo) / count;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * mag) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push_back(v);
  return out;
}

double TimeAxis::x(uint64_t ns) const {
  if (last_ns <= first_ns) return x0;
  const uint64_t clamped = std::clamp(ns, first_ns, last_ns);
  return x0 + width * static_cast<double>(clamped - first_ns) / static_cast<double>(last_ns - first_ns);
}

std::string TimeAxis::draw(double y_top, double y_bottom) const {
  std::string out;
  const double span_s = last_ns > first_ns ? static_cast<double>(last_ns - first_ns) / 1e9 : 0;
  for (double t : nice_ticks(0, span_s, 8)) {
    const double px = x0 + (span_s > 0 ? width * t / span_s : 0);
    const std::string label = span_s < 2 ? fmt::format("{:g} ms", std::round(t * 1e6) / 1e3) : fmt::format("{:g} s", t);
    out += fmt::format("<line class=\"grid\" x1=\"{0:.1f}\" x2=\"{0:.1f}\" y1=\"{1:.1f}\" y2=\"{2:.1f}\"/>", px, y_top,
                       y_bottom);
    out += fmt::format("<text class=\"tick\" x=\"{:.1f}\" y=\"{:.1f}\" text-anchor=\"middle\">{}</text>", px,
                       y_bottom + 12, escape(label));
  }
  return out;
}

void SpanMerger::add(double x0, double x1, size_t item) {
  x1 = std::max(x1, x0 + 1.0);  // at least a pixel, or a short pause is invisible
  if (!spans_.empty() && x0 <= spans_.back().x1 + 0.5) {
    spans_.back().x1 = std::max(spans_.back().x1, x1);
    ++spans_.back().items;
    return;
  }
  spans_.push_back(PixelSpan{x0, x1, 1, item});
}

double StepPath::y(double v) const { return y_bottom_ - (max_ > 0 ? height_ * v / max_ : 0); }

void StepPath::add(double x, double value) {
  const int px = static_cast<int>(std::floor(x));
  if (!columns_.empty() && columns_.back().px == px) {
    Column& c = columns_.back();
    c.low = std::min(c.low, value);
    c.high = std::max(c.high, value);
    c.last = value;
    return;
  }
  columns_.push_back(Column{px, value, value, value, value, x});
}

std::string StepPath::path_d(double x_end) const {
  std::string d;
  double prev = 0;
  bool started = false;
  for (const Column& c : columns_) {
    if (!started) {
      d += fmt::format("M{:.1f},{:.1f}", c.x, y(c.first));
      started = true;
    } else {
      d += fmt::format("L{:.1f},{:.1f}L{:.1f},{:.1f}", c.x, y(prev), c.x, y(c.first));
    }
    if (c.high != c.first || c.low != c.first || c.last != c.first)
      d += fmt::format("L{0:.1f},{1:.1f}L{0:.1f},{2:.1f}L{0:.1f},{3:.1f}", c.x, y(c.high), y(c.low), y(c.last));
    prev = c.last;
  }
  if (started) d += fmt::format("L{:.1f},{:.1f}", x_end, y(prev));
  return d;
}

}  // namespace gputrace::svg
