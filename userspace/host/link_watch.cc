#include "userspace/host/link_watch.h"

namespace gputrace {

std::vector<PciDeviceFacts> LinkWatch::changes(const std::vector<PciDeviceFacts>& now) {
  std::vector<PciDeviceFacts> changed;
  for (const PciDeviceFacts& d : now) {
    const std::pair<uint32_t, uint8_t> link{d.link_speed_mts, d.link_width};
    auto [it, first] = last_.try_emplace(d.name, link);
    if (first || it->second == link) continue;
    it->second = link;
    changed.push_back(d);
  }
  return changed;
}

}  // namespace gputrace
