#include "userspace/correlate/link_load.h"

#include <algorithm>

namespace gputrace {

void LinkLoad::add(const Link& link, uint64_t start_ns, uint64_t end_ns, uint64_t bytes) {
  Copies& copies = in_flight_[link];
  if (copies.by_start.size() >= kMaxCopiesPerLink) {
    ++dropped_;
    return;
  }
  end_ns = std::max(end_ns, start_ns + 1);
  copies.by_start.push_back({start_ns, end_ns, bytes});
  copies.longest_ns = std::max(copies.longest_ns, end_ns - start_ns);
}

LinkLoad::Load LinkLoad::during(const Link& link, uint64_t begin_ns, uint64_t end_ns) const {
  Load load;
  auto it = in_flight_.find(link);
  if (it == in_flight_.end()) return load;
  const auto& copies = it->second.by_start;
  const uint64_t earliest = begin_ns > it->second.longest_ns ? begin_ns - it->second.longest_ns : 0;
  auto c = std::lower_bound(copies.begin(), copies.end(), earliest,
                            [](const Copy& x, uint64_t t) { return x.start_ns < t; });
  for (; c != copies.end() && c->start_ns < end_ns; ++c) {
    if (c->end_ns <= begin_ns) continue;
    const uint64_t overlap = std::min(c->end_ns, end_ns) - std::max(c->start_ns, begin_ns);
    // A copy moves its bytes evenly over its duration, as far as gputrace can tell.
    load.bytes += static_cast<double>(c->bytes) * static_cast<double>(overlap) /
                  static_cast<double>(c->end_ns - c->start_ns);
    ++load.copies;
  }
  return load;
}

void LinkLoad::forget_before(uint64_t ts) {
  for (auto it = in_flight_.begin(); it != in_flight_.end();) {
    auto& copies = it->second.by_start;
    // Front only: a long copy at the front keeps a few shorter ones behind it a little longer.
    while (!copies.empty() && copies.front().end_ns < ts) copies.pop_front();
    it = copies.empty() ? in_flight_.erase(it) : std::next(it);
  }
}

}  // namespace gputrace
