// How much of a long list summary.md and report.html show. A daemon that ran for weeks can
// hold thousands of findings (each with a stack) and owners: the pages show the worst and
// say how many more there are; report.json keeps every entry.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace gputrace {

inline constexpr size_t kListedFindings = 50;  // the model lists findings worst first
inline constexpr size_t kListedRows = 100;     // mapping owners, GC pause rows

// Indices of at most max entries of list: the worst by `worse` (a strict weak order, "a is
// worse than b"), in the list's own order.
std::vector<size_t> worst_entries(const nlohmann::ordered_json& list, size_t max,
                                  const std::function<bool(const nlohmann::ordered_json&, const nlohmann::ordered_json&)>& worse);

// Orders for worst_entries. Owners: the most leaks, then the most mappings still out.
bool worse_owner(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b);
// GC pause rows: the largest share of wall time stopped.
bool worse_gc_process(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b);

// "12 more findings are not shown here: report.json lists every one." (empty when none)
std::string not_listed_note(size_t more, const char* what);

}  // namespace gputrace
