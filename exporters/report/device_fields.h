// A device the way every report file shows it: the PCIe link as "16000 MT/s x16 of
// 32000 MT/s x16".
#pragma once

#include "userspace/model/host_snapshot.h"

#include <string>
#include <string_view>

namespace gputrace {

// "-" when the link is unknown; downtrained_mark is appended to a downtrained link.
std::string pcie_link_text(const DeviceRow& device, std::string_view downtrained_mark);

}  // namespace gputrace
