// How much of a long list summary.md and report.html show. A daemon that ran for weeks can
// hold thousands of findings (each with a stack) and owners: the pages show the worst and
// say how many more there are; report.json keeps every entry.
#pragma once

#include "userspace/model/host_snapshot.h"

#include <algorithm>
#include <cstddef>
#include <numeric>
#include <string>
#include <vector>

namespace gputrace {

inline constexpr size_t kListedFindings = 50;  // the model lists findings worst first
inline constexpr size_t kListedRows = 100;     // mapping owners, GC pause rows

// Indices of at most max entries of list: the worst by `worse` (a strict weak order, "a is
// worse than b"), in the list's own order.
template <class Row, class Worse>
std::vector<size_t> worst_entries(const std::vector<Row>& list, size_t max, Worse worse) {
  std::vector<size_t> order(list.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (order.size() <= max) return order;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return worse(list[a], list[b]); });
  order.resize(max);
  std::sort(order.begin(), order.end());
  return order;
}

// Orders for worst_entries. Owners: the most leaks, then the most mappings still out.
bool worse_owner(const OwnerRow& a, const OwnerRow& b);
// GC pause rows: the largest share of wall time stopped.
bool worse_gc_process(const GcPauseRow& a, const GcPauseRow& b);

// "12 more findings are not shown here: report.json lists every one." (empty when none)
std::string not_listed_note(size_t more, const char* what);

}  // namespace gputrace
