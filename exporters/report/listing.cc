#include "report/listing.h"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <utility>

namespace gputrace {

std::vector<size_t> worst_entries(const nlohmann::ordered_json& list, size_t max,
                                  const std::function<bool(const nlohmann::ordered_json&, const nlohmann::ordered_json&)>& worse) {
  std::vector<size_t> order(list.size());
  std::iota(order.begin(), order.end(), size_t{0});
  if (order.size() <= max) return order;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return worse(list[a], list[b]); });
  order.resize(max);
  std::sort(order.begin(), order.end());
  return order;
}

bool worse_owner(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b) {
  const auto key = [](const nlohmann::ordered_json& p) {
    return std::pair(p["leaks_reported"].get<uint64_t>(), p["outstanding"]["mappings"].get<uint64_t>());
  };
  return key(a) > key(b);
}

bool worse_gc_process(const nlohmann::ordered_json& a, const nlohmann::ordered_json& b) {
  return a["wall_share"].get<double>() > b["wall_share"].get<double>();
}

std::string not_listed_note(size_t more, const char* what) {
  if (more == 0) return {};
  return fmt::format("{} more {} not shown here: report.json lists every one.", more, what);
}

}  // namespace gputrace
