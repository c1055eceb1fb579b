// Small helpers for the HTML report's inline SVG: XML escaping, "nice" axis ticks, a time
// axis mapping event-clock nanoseconds to x, and per-pixel reduction so that a million
// events draw as at most a few shapes per pixel column.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace gputrace::svg {

std::string escape(const std::string& text);  // for XML/HTML text and attribute values

// About `count` round tick values (1, 2, 5 x 10^n) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int count);

// Maps [first_ns, last_ns] onto [x0, x0 + width].
struct TimeAxis {
  uint64_t first_ns = 0;
  uint64_t last_ns = 0;
  double x0 = 0;
  double width = 1;
  double x(uint64_t ns) const;
  // Tick marks and labels ("0 s", "1.5 s", "200 ms") along y, from y_top to y_bottom.
  std::string draw(double y_top, double y_bottom) const;
};

// Intervals merged where they touch within a pixel: [x_begin, x_end) in pixels, with how
// many items each covers.
struct PixelSpan {
  double x0 = 0, x1 = 0;
  uint64_t items = 0;
  size_t first_item = 0;  // index of the first item merged into it
};
class SpanMerger {
 public:
  void add(double x0, double x1, size_t item);
  const std::vector<PixelSpan>& spans() const { return spans_; }

 private:
  std::vector<PixelSpan> spans_;
};

// A step function (counter samples in time order) drawn as a path whose size is bounded by
// the width in pixels: per pixel column its first, lowest, highest and last value.
class StepPath {
 public:
  StepPath(double y_bottom, double height, double max_value) : y_bottom_(y_bottom), height_(height), max_(max_value) {}
  void add(double x, double value);
  std::string path_d(double x_end) const;  // "M ... L ..." ending at x_end at the last value

 private:
  double y(double v) const;
  struct Column {
    int px = 0;
    double first = 0, low = 0, high = 0, last = 0;
    double x = 0;
  };
  double y_bottom_, height_, max_;
  std::vector<Column> columns_;
};

}  // namespace gputrace::svg
