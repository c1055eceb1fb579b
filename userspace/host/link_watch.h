// LinkWatch: notices PCIe links whose current speed or width changed since it last looked.
//
// GPUs lower their link speed when idle and raise it under load, so a link read once at
// start-up can make every later copy look like it ran on a downtrained link. The live
// source re-reads sysfs now and then and records the devices this returns, and the
// correlation judges each copy against the link of the moment.
#pragma once

#include "userspace/host/pci_devices.h"

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace gputrace {

class LinkWatch {
 public:
  // The devices in `now` whose link differs from the last time they were seen (a device
  // seen for the first time counts as unchanged: its facts were recorded at start-up).
  std::vector<PciDeviceFacts> changes(const std::vector<PciDeviceFacts>& now);

 private:
  std::map<std::string, std::pair<uint32_t, uint8_t>> last_;  // name -> (speed MT/s, width)
};

}  // namespace gputrace
