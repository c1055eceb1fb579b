#include "exporters/report/device_fields.h"

#include <fmt/format.h>

namespace gputrace {

std::string pcie_link_text(const DeviceRow& d, std::string_view downtrained_mark) {
  if (!d.link_known()) return "-";
  return fmt::format("{} MT/s x{} of {} MT/s x{}{}", d.link_speed_mts, d.link_width, d.max_link_speed_mts,
                     d.max_link_width, d.link_downtrained ? downtrained_mark : "");
}

}  // namespace gputrace
